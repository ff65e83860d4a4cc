#!/bin/sh
# Writes the configuration installed as /etc/parley/parley.toml by the .deb and the container
# image: the commented default (packaging/parley.toml, the file `parley config default`
# prints) with exactly two values changed for a system service:
#   [server]  listen   = "0.0.0.0:8080"     (reachable from other machines)
#   [storage] data_dir = "/var/lib/parley"  (the service's StateDirectory / the image volume)
#
#   sh packaging/deb/gen-config.sh > packaging/deb/parley.toml
#
# tests/packaging/run.sh fails when the checked-in packaging/deb/parley.toml differs from
# this script's output, so rerun it after editing packaging/parley.toml.
set -eu
here=$(dirname "$0")
src="$here/../parley.toml"
grep -qx 'listen = "127.0.0.1:8080"' "$src" || { echo "gen-config: no default listen line in $src" >&2; exit 1; }
grep -qx 'data_dir = "./parley-data"' "$src" || { echo "gen-config: no default data_dir line in $src" >&2; exit 1; }
sed -e 's|^listen = "127.0.0.1:8080"$|listen = "0.0.0.0:8080"|' \
    -e 's|^data_dir = "./parley-data"$|data_dir = "/var/lib/parley"|' "$src"
