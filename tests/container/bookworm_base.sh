#!/usr/bin/env bash
# Makes a Debian bookworm base image with debootstrap, for machines that reach Debian's package mirror but no
# image registry (the container test builds the Dockerfile on it with BASE_IMAGE=<name>). Needs root.
#   tests/container/bookworm_base.sh localhost/stillmotion-base:bookworm
set -euo pipefail
name=${1:?usage: bookworm_base.sh IMAGE_NAME}
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >"$root.log" 2>&1 \
    || { tail -20 "$root.log" >&2; exit 1; }
rm -f "$root.log"
# What debian:bookworm-slim leaves out as well: the downloaded packages and the package lists.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | podman import --quiet - "$name" >/dev/null
echo "$name"
