#!/usr/bin/env bash
# Build the coder's Docker sandbox image locally: a minimal Debian with python3, made by
# debootstrap from this machine's configured apt mirror, then `docker import`ed.
#
# No container registry is reachable on our machines (only Debian's mirror is), so the
# image cannot be pulled: it is built from a debootstrap root instead. The root is cached
# as a tarball, so a rebuild after the engine's data is wiped takes seconds.
# Idempotent: if the image exists, nothing is done (pass --force to rebuild).
#
#   bash sandbox-image/build.sh [--force]
#   SANDBOX_IMAGE=orchestrator-sandbox:latest  SANDBOX_MIRROR=http://...  SANDBOX_SUITE=bookworm
#   SANDBOX_CACHE=/var/cache/orchestrator-sandbox
set -euo pipefail

IMAGE=${SANDBOX_IMAGE:-orchestrator-sandbox:latest}
CACHE=${SANDBOX_CACHE:-/var/cache/orchestrator-sandbox}
FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1

say() { echo "sandbox-image: $*"; }
die() { echo "sandbox-image: $*" >&2; exit 1; }

# The first Debian mirror this machine's apt uses (deb822 .sources or one-line .list).
configured_mirror() {
    local f uri
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        uri=$(awk '/^URIs:/ {print $2; exit}' "$f")
        case "$uri" in *security*|"") ;; *) echo "$uri"; return ;; esac
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        uri=$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' "$f")
        [ -n "$uri" ] && { echo "$uri"; return; }
    done
    echo "http://deb.debian.org/debian"
}

configured_suite() {
    # shellcheck disable=SC1091
    (. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
}

command -v docker >/dev/null || die "the docker CLI is missing (apt-get install docker.io)"
docker version >/dev/null 2>&1 || die "no Docker engine answers; start one: bash sandbox-image/start-dockerd.sh"

if [ "$FORCE" -eq 0 ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
    say "$IMAGE already exists (use --force to rebuild)"
    exit 0
fi

MIRROR=${SANDBOX_MIRROR:-$(configured_mirror)}
SUITE=${SANDBOX_SUITE:-$(configured_suite)}
TARBALL="$CACHE/$SUITE-python3-rootfs.tar"
mkdir -p "$CACHE"

if [ "$FORCE" -eq 1 ] || [ ! -s "$TARBALL" ]; then
    command -v debootstrap >/dev/null || die "debootstrap is missing (apt-get install debootstrap)"
    [ "$(id -u)" -eq 0 ] || die "debootstrap needs root"
    ROOT=$(mktemp -d "$CACHE/rootfs.XXXXXX")
    trap 'rm -rf "$ROOT"' EXIT
    say "debootstrap $SUITE from $MIRROR (a few minutes)"
    debootstrap --variant=minbase --include=python3 "$SUITE" "$ROOT" "$MIRROR" \
        >"$CACHE/debootstrap.log" 2>&1 \
        || { tail -n 30 "$CACHE/debootstrap.log" >&2; die "debootstrap failed (log: $CACHE/debootstrap.log)"; }
    # What a sandbox never needs: package caches and lists, docs, man pages.
    rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/* \
        "$ROOT"/usr/share/doc/* "$ROOT"/usr/share/man/* "$ROOT"/usr/share/info/*
    mkdir -p "$ROOT/workspace" "$ROOT/code"
    tar --numeric-owner -C "$ROOT" -cf "$TARBALL.tmp" .
    mv "$TARBALL.tmp" "$TARBALL"
    say "cached the root as $TARBALL"
fi

say "importing $TARBALL as $IMAGE"
docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'WORKDIR /workspace' \
    --change 'LABEL orchestrator.image=sandbox' \
    "$TARBALL" "$IMAGE" >/dev/null
docker run --rm --network none "$IMAGE" python3 -c 'import sys; print("sandbox-image: python", sys.version.split()[0])'
say "$IMAGE is ready"
