#!/usr/bin/env bash
# Refreshes the Swagger UI assets that GET /docs serves, embedded in the
# binary from httpapi/apidocs/: the files of the npm package swagger-ui-dist
# at VERSION (default: the version below) are copied over the old ones. It
# uses `npm pack`, so no install script of the package or its dependencies
# runs. Change VERSION here and in httpapi/apidocs/README.md together, then
# run the Go tests and the browser test (.ci/typescript.sh).
#
#   scripts/swagger-ui.sh [VERSION]
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:-5.35.0}
dest=httpapi/apidocs
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "swagger-ui-dist@$version" >/dev/null && tar xzf swagger-ui-dist-*.tgz)
for f in swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css LICENSE NOTICE; do
  cp "$work/package/$f" "$dest/$f"
done
sed -i "s/^Version: .*/Version: $version/" "$dest/README.md"
echo "copied swagger-ui-dist $version into $dest"
