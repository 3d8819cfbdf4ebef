#!/usr/bin/env bash
# `npm run image`: builds the agent's container image svcplane:<package version>
# from the Dockerfile, fully offline except Debian's mirror (no container registry):
#
# 1. the base image debian:bookworm-slim, when podman does not have it yet, is made
#    here with mmdebstrap (minbase) and `podman import`ed under that name; the
#    tarball is cached in $SVCPLANE_CACHE (default /var/cache/svcplane) between runs;
# 2. the build context is staged in a temporary folder: the package as `npm pack`
#    makes it (prepack builds lib/), its production dependencies installed from the
#    local npm cache with the lock file, and this machine's node binary (see the
#    Dockerfile for why);
# 3. podman build --pull=never --network=host (RUN steps reach Debian's mirror).
#
# Prints the image name on its last line. Needs root, podman, runc, mmdebstrap.
set -euo pipefail
cd "$(dirname "$0")/.."

podman=(bash scripts/podman.sh)
cache="${SVCPLANE_CACHE:-/var/cache/svcplane}"
base=docker.io/library/debian:bookworm-slim
version="$(node -p 'require("./package.json").version')"
image="svcplane:$version"
mkdir -p "$cache"

secs() { echo "$(( $(date +%s) - $1 ))s"; }

t0=$(date +%s)
if ! "${podman[@]}" image exists "$base"; then
  tarball="$cache/debian-bookworm-minbase.tar"
  if [ ! -s "$tarball" ]; then
    echo "== base: mmdebstrap --variant=minbase bookworm (cached in $tarball)" >&2
    # mmdebstrap picks the format from the name and wants it absent: a fresh folder.
    tmp="$(mktemp -d "$cache/base.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    mmdebstrap --quiet --variant=minbase bookworm "$tmp/base.tar" >&2
    mv -f "$tmp/base.tar" "$tarball"
    rm -rf "$tmp"
    trap - EXIT
  fi
  echo "== base: podman import $tarball as $base" >&2
  "${podman[@]}" import "$tarball" "$base" >/dev/null
fi
echo "== base ready in $(secs "$t0")" >&2

t1=$(date +%s)
ctx="$(mktemp -d /tmp/svcplane-image.XXXXXX)"
trap 'rm -rf "$ctx"' EXIT
echo "== context: npm pack, production dependencies from the npm cache" >&2
npm pack --silent --pack-destination "$ctx" >/dev/null
mkdir "$ctx/app"
tar -xzf "$ctx/svcplane-$version.tgz" -C "$ctx/app" --strip-components=1
cp package-lock.json "$ctx/app/"
(cd "$ctx/app" && npm ci --offline --omit=dev --omit=peer --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
rm "$ctx/app/package-lock.json"
cp "$(command -v node)" "$ctx/node"
cp Dockerfile "$ctx/Dockerfile"
echo "== context ready in $(secs "$t1")" >&2

t2=$(date +%s)
echo "== podman build -t $image" >&2
"${podman[@]}" build --pull=never --network=host --tag "$image" "$ctx" >&2
echo "== built $image in $(secs "$t2") (total $(secs "$t0"))" >&2
echo "$image"
