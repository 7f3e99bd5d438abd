#!/usr/bin/env bash
# Installs everything mfpar's tests and demo need on a fresh Debian machine with Node >= 20:
# npm packages (from package-lock.json) and the Debian packages some tests use
# (chromium for the report test; podman/buildah/runc/debootstrap for the container smoke test).
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

need_npm=1
if [ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ]; then need_npm=0; fi
if [ "$need_npm" = 1 ]; then
  npm ci --no-audit --no-fund
else
  npm run --silent build
fi

# The workflow runner's stories (test/workflows/*.story.test.ts) and the workflow lint need the AWS CLI, the
# GitHub CLI and ShellCheck: those tests fail, never skip, without them.
wanted="${MFPAR_DEBS:-chromium awscli gh shellcheck}"
# The container smoke test (test/container) needs these: about a minute to install, plus ~2 minutes of
# debootstrap on its first run (cached under .tmp/container/). MFPAR_CONTAINER=0 leaves them out.
if [ "${MFPAR_CONTAINER:-1}" = 1 ]; then wanted="$wanted podman buildah runc debootstrap"; fi

# test/closeout/versions.test.ts runs S3 with object versions on moto's server (pip `moto`, on this machine kind;
# Debian has no package of it): it fails, never skips, without it.
python3 -c 'import moto.server' 2>/dev/null ||
  echo "setup: python3 has no moto (pip install moto): test/closeout/versions.test.ts will fail" >&2

debs=()
for pkg in $wanted; do
  dpkg -s "$pkg" >/dev/null 2>&1 || debs+=("$pkg")
done
if [ ${#debs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing Debian packages: ${debs[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${debs[@]}" >/dev/null
  else
    echo "setup: Debian packages missing (${debs[*]}): the tests that need them fail (the report's browser test and the container smoke test skip). Run as root to install them." >&2
  fi
fi

# The container smoke test's base image (Debian minbase from debootstrap + this Node), prepared here like a
# package: about 2 minutes on a machine that never built it, a second on one that did (the test then only
# builds the agent image on top). Skipped where the container tools or root are missing (the test says why).
if [ "${MFPAR_CONTAINER:-1}" = 1 ] && [ "$(id -u)" = 0 ] && command -v buildah >/dev/null && command -v debootstrap >/dev/null; then
  echo "setup: preparing the container smoke test's base image"
  if ! out=$(npx tsx scripts/container-smoke.ts --prepare-base 2>&1); then
    echo "setup: the container base image could not be prepared (test/container will say why):" >&2
    echo "$out" | tail -5 >&2
  fi
fi
