#!/bin/sh
# Installs mqtt-warden from the packed @mqtt-warden tarballs (`pnpm -r pack` output) into /opt/mqtt-warden,
# the same way for the container image (deploy/Dockerfile runs it) and for a host under systemd.
#   deploy/install.sh PACKS_DIR
# DESTDIR prefixes every path it writes (packaging, and the test that runs these steps in a temp root).
set -eu
packs=$1
here=$(cd "$(dirname "$0")" && pwd)
prefix="${DESTDIR:-}/opt/mqtt-warden"

# Every package but the Aedes integration, which the server does not use (it would pull in aedes).
set --
for tarball in "$packs"/mqtt-warden-*.tgz; do
  case "$tarball" in
    */mqtt-warden-aedes-*) ;;
    *) set -- "$@" "$tarball" ;;
  esac
done

mkdir -p "$prefix"
cd "$prefix"
[ -f package.json ] || printf '{ "name": "mqtt-warden-install", "private": true }\n' > package.json
npm install --omit=dev --no-audit --no-fund --loglevel=error "$@"
cp "$here/healthcheck.mjs" "$prefix/healthcheck.mjs"
"$prefix/node_modules/.bin/mqtt-warden" --version
