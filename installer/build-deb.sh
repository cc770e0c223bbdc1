#!/usr/bin/env bash
# installer/build-deb.sh - build the dnsstream Debian package.
#
#   installer/build-deb.sh [BUILD_DIR [OUT_DIR]]
#
# BUILD_DIR (default <repo>/build-deb) is a CMake build directory; it is configured and
# built (RelWithDebInfo) when it holds no dnsstream binary yet.  The package is written
# to OUT_DIR (default BUILD_DIR) as dnsstream_<version>_<arch>.deb and installs
#   /usr/bin/dnsstream, /etc/dnsstream/dnsstream.conf (a conffile),
#   /lib/systemd/system/dnsstream.service, /usr/share/doc/dnsstream/
# and, from its maintainer scripts, the system user "dnsstream" and /var/lib/dnsstream.
# Dependencies come from dpkg-shlibdeps.  Needs dpkg-dev; no root needed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$ROOT/build-deb}
OUT=${2:-$BUILD}
HERE=$ROOT/installer

VERSION=$(sed -n 's/^project(dnsstream VERSION \([0-9.]*\).*/\1/p' "$ROOT/CMakeLists.txt")
ARCH=$(dpkg --print-architecture)
[ -n "$VERSION" ] || { echo "build-deb: no version in CMakeLists.txt" >&2; exit 1; }

if [ ! -x "$BUILD/dnsstream" ]; then
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo
    cmake --build "$BUILD" -j "$(nproc)" --target dnsstream
fi

STAGE=$(mktemp -d "${TMPDIR:-/tmp}/dnsstream-deb.XXXXXX")
trap 'rm -rf -- "$STAGE"' EXIT
PKG=$STAGE/pkg
mkdir -p "$PKG/DEBIAN"

DESTDIR=$PKG cmake --install "$BUILD" --prefix /usr --strip >/dev/null
install -D -m 0644 "$HERE/systemd/dnsstream.service" "$PKG/lib/systemd/system/dnsstream.service"
install -D -m 0644 "$ROOT/README.md" "$PKG/usr/share/doc/dnsstream/README.md"
if [ -d "$ROOT/docs" ]; then
    for f in "$ROOT"/docs/*.md; do
        [ -f "$f" ] && install -D -m 0644 "$f" "$PKG/usr/share/doc/dnsstream/docs/$(basename "$f")"
    done
fi
for f in "$PKG/usr/bin/dnsstream" "$PKG/etc/dnsstream/dnsstream.conf"; do
    [ -f "$f" ] || { echo "build-deb: cmake --install did not produce ${f#"$PKG"}" >&2; exit 1; }
done

# Shared-library dependencies, as debhelper would compute them.
mkdir -p "$STAGE/src/debian"
printf 'Source: dnsstream\n\nPackage: dnsstream\nArchitecture: any\n' >"$STAGE/src/debian/control"
DEPENDS=$(cd "$STAGE/src" && dpkg-shlibdeps -O -e"$PKG/usr/bin/dnsstream" 2>/dev/null |
    sed -n 's/^shlibs:Depends=//p')
[ -n "$DEPENDS" ] || { echo "build-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

SIZE=$(du -sk --exclude=DEBIAN "$PKG" | cut -f1)
sed -e "s|@VERSION@|$VERSION|" -e "s|@ARCH@|$ARCH|" -e "s|@SIZE@|$SIZE|" \
    -e "s|@DEPENDS@|$DEPENDS|" "$HERE/debian/control.in" >"$PKG/DEBIAN/control"
install -m 0644 "$HERE/debian/conffiles" "$PKG/DEBIAN/conffiles"
for s in postinst prerm postrm; do
    install -m 0755 "$HERE/debian/$s" "$PKG/DEBIAN/$s"
done
(cd "$PKG" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z |
    xargs -0 md5sum) >"$PKG/DEBIAN/md5sums"

mkdir -p "$OUT"
DEB=$OUT/dnsstream_${VERSION}_${ARCH}.deb
dpkg-deb --root-owner-group -Zxz --build "$PKG" "$DEB" >/dev/null
echo "build-deb: wrote $DEB"
