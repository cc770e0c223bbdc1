#!/usr/bin/env bash
# scripts/run.sh - install what is missing, build, and run dnsstream in the foreground.
#
#   sudo scripts/run.sh [dnsstream options...]
#
# Without options dnsstream runs on its embedded default configuration
# (conf/dnsstream.conf): it listens for PowerDNS protobuf on 127.0.0.1:6000 and writes
# one JSON object per event to dnsstream-events.jsonl in the current directory.
# Options are passed on, e.g. "-c my.conf".  Ctrl-C or SIGTERM stops it cleanly.
# Environment: DS_BUILD_DIR (default <repo>/build), DS_SKIP_DEPS=1.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${DS_BUILD_DIR:-$ROOT/build}

if [ "${DS_SKIP_DEPS:-0}" != 1 ]; then
    "$ROOT/scripts/install-deps.sh"
fi
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j "$(nproc)" --target dnsstream

if [ $# -eq 0 ]; then
    echo "run.sh: dnsstream on its embedded default configuration:"
    echo "run.sh:   PowerDNS protobuf input on 127.0.0.1:6000 (dnsdist newRemoteLogger,"
    echo "run.sh:   pdns-recursor protobufServer)"
    echo "run.sh:   events as JSON lines in $PWD/dnsstream-events.jsonl"
    echo "run.sh: stop with Ctrl-C"
fi
exec "$BUILD/dnsstream" "$@"
