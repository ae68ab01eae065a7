#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
#   tests/build-deb.sh OUTDIR [--lintian]
#
# Builds the Debian package from a clean export of the source tree (the
# files git tracks, with their changes, plus new files not ignored; or the
# whole tree of an unpacked tarball) in OUTDIR/src, with
# 'dpkg-buildpackage -us -uc -b'. The .deb, .changes and .buildinfo land in
# OUTDIR. With --lintian, lintian checks the .changes and any tag that is an
# error or a warning fails. Needs dpkg-dev and debhelper (and lintian).
set -euo pipefail

out=${1:?usage: tests/build-deb.sh OUTDIR [--lintian]}
lint=${2:-}
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
src=$out/src
rm -rf "$src" "$out"/cgreap_*
mkdir -p "$src"

if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        # Deleted but not yet committed files are not there to copy.
        (cd "$top" && git ls-files -z -co --exclude-standard |
                while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
                tar --null -T - -cf -) | tar -xf - -C "$src"
else
        [ -f "$top/config.status" ] && { echo "build-deb: $top is configured in-tree; run 'make distclean'" >&2; exit 1; }
        tar -C "$top" --exclude='./build*' -cf - . | tar -xf - -C "$src"
fi

# dpkg-buildpackage writes next to the source directory: OUTDIR.
(cd "$src" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1 || {
        tail -n 60 "$out/build.log" >&2
        echo "build-deb: dpkg-buildpackage failed (whole log: $out/build.log)" >&2
        exit 1
}
ls "$out"/cgreap_*.deb >/dev/null
echo "build-deb: $(cd "$out" && ls cgreap_*.deb)"

if [ "$lint" = --lintian ]; then
        changes=$(ls "$out"/cgreap_*.changes)
        # --fail-on error,warning: lintian's exit status says it; the tags
        # themselves are printed for the reader.
        lintian --fail-on error,warning --display-info "$changes"
        echo "lintian: no errors, no warnings"
fi
