#!/usr/bin/env bash
# The TypeScript client, clients/typescript: installs Debian's chromium if it
# is missing, installs the npm dev dependencies from package-lock.json,
# builds the package, and runs its Node test suite, its headless Chromium
# suite (the client across origins, and the /docs page) and the packed
# tarball installed in a fresh project, against an authstore built from this
# tree. Exits non-zero if any step fails. Runs from a clean clone; .ci/run calls it after the Go tests.
set -euo pipefail
cd "$(dirname "$0")/.."

chromium=/usr/bin/chromium
if [ ! -x "$chromium" ]; then
  echo "installing Debian's chromium"
  sudo=
  [ "$(id -u)" = 0 ] || sudo=sudo
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq chromium >/dev/null
fi
for tool in node npm go; do
  command -v "$tool" >/dev/null || { echo "$tool is needed for the TypeScript client"; exit 1; }
done
echo "node $(node --version), npm $(npm --version), $("$chromium" --version 2>/dev/null || echo chromium)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
CGO_ENABLED=0 go build -o "$work/authstore" ./cmd/authstore
export AUTHSTORE_BIN="$work/authstore" CHROMIUM_PATH="$chromium"

cd clients/typescript
npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
status=0
npm run --silent test:node || status=1
npm run --silent test:browser || status=1
npm run --silent test:pack || status=1
exit "$status"
