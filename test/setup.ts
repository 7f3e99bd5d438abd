// Shared per-file setup. Suites that need cdktf's Jest matchers import test/cdktf-setup.ts themselves,
// so the (heavy) cdktf package is only loaded where it is used.
process.env.MFPAR_LOG_LEVEL ??= "silent";
