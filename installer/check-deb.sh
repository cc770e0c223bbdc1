#!/usr/bin/env bash
# installer/check-deb.sh DEB - check that a built dnsstream package holds what it must:
# the binary, the conffile, the systemd unit, the maintainer scripts and real
# dependencies; that the packaged binary runs; and that the unit file parses.
# Prints "N passed, N failed"; exit status 1 when anything failed.
set -uo pipefail
DEB=$1
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "PASS $*"; }
bad() { failed=$((failed + 1)); echo "FAIL $*"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }

files=$(dpkg-deb -c "$DEB" | awk '{print $1, $NF}')
has() { grep -q -- " $1\$" <<<"$files"; }
mode() { grep -- " $1\$" <<<"$files" | cut -c1-10; }
check "binary /usr/bin/dnsstream" has ./usr/bin/dnsstream
check "binary is executable" test "$(mode ./usr/bin/dnsstream)" = -rwxr-xr-x
check "configuration /etc/dnsstream/dnsstream.conf" has ./etc/dnsstream/dnsstream.conf
check "systemd unit /lib/systemd/system/dnsstream.service" has ./lib/systemd/system/dnsstream.service
check "conffile registered" grep -qx /etc/dnsstream/dnsstream.conf <(dpkg-deb -I "$DEB" conffiles)
deps=$(dpkg-deb -f "$DEB" Depends)
for s in postinst prerm postrm; do
    check "maintainer script $s" dpkg-deb -I "$DEB" "$s" >/dev/null 2>&1
done
check "package name and version" test "$(dpkg-deb -f "$DEB" Package)" = dnsstream

X=$(mktemp -d)
trap 'rm -rf -- "$X"' EXIT
dpkg-deb -x "$DEB" "$X"
# Every shared library the binary needs comes from a package named in Depends.
for lib in $(readelf -d "$X/usr/bin/dnsstream" | sed -n 's/.*NEEDED.*\[\(.*\)\]/\1/p'); do
    path=$(ldconfig -p | awk -v l="$lib" '$1 == l { print $NF; exit }')
    real=$(readlink -f "$path")
    # With merged /usr the package may have registered /lib/... rather than /usr/lib/...
    pkg=$(dpkg -S "$path" "$real" "${real#/usr}" 2>/dev/null | head -n 1 | cut -d: -f1)
    if [ -z "$pkg" ]; then
        bad "no installed package owns $lib"
        continue
    fi
    check "Depends names $pkg (for $lib)" grep -Eq "(^|, )$pkg( |,|$)" <<<"$deps"
done
check "packaged binary runs --version" "$X/usr/bin/dnsstream" --version
check "packaged configuration passes --check-config" \
    "$X/usr/bin/dnsstream" --check-config "$X/etc/dnsstream/dnsstream.conf"
if command -v systemd-analyze >/dev/null 2>&1; then
    # systemd-analyze verify wants the ExecStart binary at its real path: point the
    # unit at the extracted one.
    sed "s|/usr/bin/dnsstream|$X/usr/bin/dnsstream|g; s|/etc/dnsstream|$X/etc/dnsstream|g" \
        "$X/lib/systemd/system/dnsstream.service" >"$X/dnsstream.service"
    out=$(systemd-analyze verify "$X/dnsstream.service" 2>&1)
    check "systemd-analyze verify accepts the unit" test -z "$(grep -i dnsstream.service <<<"$out")"
    [ -n "$out" ] && echo "$out"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
