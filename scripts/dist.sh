#!/usr/bin/env bash
# Release binaries: static authstore (the server and its tools) and
# authstore-bench (the load generator) binaries for linux, darwin and windows
# on amd64 and arm64, in dist/ (or $1), with SHA256SUMS. Build from a git
# checkout: Go stamps the commit (vcs.revision, vcs.time, vcs.modified) and
# the module version (the tag, or a pseudo-version) into each binary's build
# info, which `authstore version` and `go version -m` show. -trimpath keeps
# the build machine's paths out; -s -w drops the symbol and DWARF tables.
#
#   scripts/dist.sh [OUTDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-dist}
targets="linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64"

rm -rf "$out"
mkdir -p "$out"
start=$(date +%s)
for target in $targets; do
  os=${target%/*} arch=${target#*/}
  ext=
  [ "$os" = windows ] && ext=.exe
  for cmd in authstore authstore-bench; do
    CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -buildvcs=true -ldflags "-s -w" \
      -o "$out/$cmd-$os-$arch$ext" "./cmd/$cmd"
  done
done
(cd "$out" && sha256sum authstore-* >SHA256SUMS)
echo "built $(( 2 * $(echo $targets | wc -w) )) binaries in $(( $(date +%s) - start ))s into $out/:"
(cd "$out" && ls -l authstore-* | awk '{printf "  %s %.1f MiB\n", $NF, $5/1048576}')
