#!/bin/sh
# Stages the build context of the Parley container image (packaging/container/Containerfile):
#
#   sh packaging/container/stage.sh [BINARY] [CONTEXT_DIR]
#
# BINARY defaults to the release build, target/x86_64-unknown-linux-gnu/release/parley (it
# must be statically linked: the image has no libc). CONTEXT_DIR defaults to
# target/container-context and is emptied first. It then holds:
#   Containerfile                   a copy, so `docker build CONTEXT_DIR` works too
#   parley                          the binary, mode 0755
#   rootfs/etc/passwd, group        user and group parley = 10001
#   rootfs/etc/parley/parley.toml   packaging/deb/parley.toml (listen 0.0.0.0:8080,
#                                   data_dir /var/lib/parley)
#   rootfs/var/lib/                 so that /var/lib is created owned by root
#   data/                           empty, mode 0750: becomes /var/lib/parley, owned by 10001
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin=${1:-$repo/target/x86_64-unknown-linux-gnu/release/parley}
ctx=${2:-$repo/target/container-context}

if [ ! -x "$bin" ]; then
    echo "stage.sh: no executable $bin (build it first: cargo build --release --locked)" >&2
    exit 1
fi
if command -v readelf >/dev/null 2>&1 && readelf -l "$bin" | grep -q 'program interpreter'; then
    echo "stage.sh: $bin is dynamically linked; the image needs the static build" >&2
    exit 1
fi

rm -rf "$ctx"
mkdir -p "$ctx/rootfs/etc/parley" "$ctx/rootfs/var/lib" "$ctx/data"
chmod 0755 "$ctx/rootfs" "$ctx/rootfs/etc" "$ctx/rootfs/etc/parley" "$ctx/rootfs/var" "$ctx/rootfs/var/lib"
chmod 0750 "$ctx/data"
install -m 0644 "$here/passwd" "$ctx/rootfs/etc/passwd"
install -m 0644 "$here/group" "$ctx/rootfs/etc/group"
install -m 0644 "$repo/packaging/deb/parley.toml" "$ctx/rootfs/etc/parley/parley.toml"
install -m 0755 "$bin" "$ctx/parley"
install -m 0644 "$here/Containerfile" "$ctx/Containerfile"
echo "$ctx"
