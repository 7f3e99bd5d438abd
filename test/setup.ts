// Shared per-file setup. Suites that need cdktf's Jest matchers import test/cdktf-setup.ts themselves,
// so the (heavy) cdktf package is only loaded where it is used.
process.env.MFPAR_LOG_LEVEL ??= "silent";
// The AWS SDK warns on every client in every worker that Node 20 support ends in 2027; the project supports
// Node 20 and 24 on purpose (DEVELOPERS.md), so the warning is noise in test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
