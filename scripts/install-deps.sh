#!/usr/bin/env bash
# scripts/install-deps.sh - install what dnsstream needs to build and test (Debian 12).
#
# Idempotent: when every package is already installed it does nothing (no apt-get
# update), so the other scripts can call it every time.  Needs root only when something
# is missing.  The test peers (dnsdist, pdns-recursor, unbound, rsyslog) are installed
# without being started as system services: policy-rc.d refuses every start during the
# installation, and the ones this run installed are stopped and disabled afterwards.
# The tests start their own instances on loopback.
set -euo pipefail

PACKAGES=(
    # build
    cmake gcc clang libclang-rt-14-dev pkg-config make dpkg-dev fakeroot
    libprotobuf-c-dev protobuf-c-compiler protobuf-compiler
    librdkafka-dev libcurl4-openssl-dev libinih-dev zlib1g-dev libssl-dev
    # test peers and tools
    dnsdist pdns-recursor rsyslog rsyslog-openssl rsyslog-gnutls unbound fstrm-bin
    bind9-dnsutils dnsperf socat strace iproute2 procps python3 openssl
)
SERVICES=(dnsdist pdns-recursor unbound rsyslog)

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#PACKAGES[@]} packages are installed"
    exit 0
fi
echo "install-deps: missing: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: run as root (sudo $0) to install them" >&2
    exit 1
fi

# Keep services from starting while their packages are installed.  An existing
# policy-rc.d is left as it is; ours is removed again on every exit path.
POLICY=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\n# written by dnsstream scripts/install-deps.sh during apt-get\nexit 101\n' \
        >"$POLICY"
    chmod 755 "$POLICY"
    own_policy=1
fi
cleanup() {
    if [ "$own_policy" = 1 ]; then rm -f "$POLICY"; fi
}
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get -o DPkg::Lock::Timeout=900 install -y -q "${missing[@]}" </dev/null

# Services installed by this run: stop and disable them (on machines with systemd).
for svc in "${SERVICES[@]}"; do
    case " ${missing[*]} " in *" $svc "*) ;; *) continue ;; esac
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
        systemctl disable --now "$svc" >/dev/null 2>&1 || true
    elif command -v service >/dev/null 2>&1; then
        service "$svc" stop >/dev/null 2>&1 || true
    fi
done
echo "install-deps: done"
