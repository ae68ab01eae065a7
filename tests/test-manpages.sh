#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# test-manpages: the man pages, the unit, the example drop-ins and the bash
# completion say what the code does. Every mismatch is one FAIL line and the
# test fails at the end. Every check runs: a tool it needs that is missing
# (mandoc, groff, systemd-analyze; tests/run-all.sh installs them) is a
# failure, not a skip.
#
# Needs: top_srcdir, top_builddir, CGREAPD, CGREAPCTL (set by make check).

. "${top_srcdir:?}/tests/lib.sh"
: "${top_builddir:?}" "${CGREAPD:?}" "${CGREAPCTL:?}"

failures=0
bad() { echo "FAIL: $*"; failures=$((failures + 1)); }
need() { command -v "$1" >/dev/null || bad "$1 is not installed (package $2): $3 not checked"; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cgreap-test-manpages.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

man8=$top_builddir/man/cgreapd.8
man5=$top_builddir/man/cgreap.conf.5
man1=$top_builddir/man/cgreapctl.1
man1n=$top_builddir/man/cgreap-notify.1
unit=$top_builddir/units/cgreapd.service
for f in "$man8" "$man5" "$man1" "$man1n" "$unit"; do
        [ -s "$f" ] || fail "$f was not generated (run make first)"
done

# Roff source as the reader sees the words: "\-" is "-", fonts are dropped.
roff_text() {
        sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\e/\\/g' -e "s/\\\\(aq/'/g" "$1"
}
roff_text "$man8" > "$tmp/man8.txt"
roff_text "$man5" > "$tmp/man5.txt"
roff_text "$man1" > "$tmp/man1.txt"
roff_text "$man1n" > "$tmp/man1n.txt"

# ---- 1. roff lint ------------------------------------------------------------
need mandoc mandoc "roff lint"
need groff groff-base "roff warnings"
for page in "$man8" "$man5" "$man1" "$man1n"; do
        if command -v mandoc >/dev/null; then
                out=$(mandoc -Tlint "$page" 2>&1) || true
                [ -z "$out" ] || bad "mandoc -Tlint $(basename "$page"):"$'\n'"$out"
        fi
        if command -v groff >/dev/null; then
                out=$(groff -ww -man -z "$page" 2>&1) || true
                [ -z "$out" ] || bad "groff -ww $(basename "$page"):"$'\n'"$out"
        fi
done

# ---- 2. every config key and default of the code is in cgreap.conf(5) ------------
# "Section|Key|value" from cgreap.conf syntax: [Section NAME] headers (the
# name is dropped, so [Monitor system] is "Monitor"), Key=value lines with an
# optional " ; comment". [Priority] lines are rules, not keys. check-config
# shows a monitor's inherited values as "#Key=value ; inherited from [X]":
# those count as keys too.
ini_keys() {
        awk '
        /^#[A-Za-z]+=.*; *inherited from / { sub(/^#/, "") }
        /^[ \t]*$/ || /^[#;]/ { next }
        /^\[/ { sec = $0; sub(/^\[/, "", sec); sub(/[] ].*$/, "", sec); next }
        sec != "Priority" && index($0, "=") {
                key = substr($0, 1, index($0, "=") - 1)
                val = substr($0, index($0, "=") + 1)
                sub(/[ \t]+;.*$/, "", val)
                gsub(/^[ \t]+|[ \t]+$/, "", key); gsub(/^[ \t]+|[ \t]+$/, "", val)
                gsub(/[ \t]+/, " ", val)
                print sec "|" key "|" val
        }'
}

# "Section|Key|default" from cgreap.conf(5): the key entries of the
# "[Section] SECTION" chapters (.TP/.TQ then ".BI Key= TYPE") and their
# '.RB "Default: " "VALUE"' line.
awk '
/^\.SH / { sec = ""; if (match($0, /\[[A-Za-z]+/)) sec = substr($0, RSTART + 1, RLENGTH - 1); keys = ""; next }
/^\.TP/ { want = 1; keys = ""; next }
/^\.TQ/ { want = 1; next }
want && /^\.BI? / { want = 0; if ($2 ~ /^[A-Za-z]+=$/) keys = keys " " substr($2, 1, length($2) - 1); next }
/^\.RB "Default: " "/ {
        v = $0; sub(/^\.RB "Default: " "/, "", v); sub(/".*$/, "", v)
        n = split(keys, k, " "); for (i = 1; i <= n; i++) print sec "|" k[i] "|" v
        keys = ""
}' "$tmp/man5.txt" > "$tmp/doc-keys"
[ -s "$tmp/doc-keys" ] || bad "no key entries found in cgreap.conf(5)"

# The "defaults written out" example of cgreap.conf(5): the first .EX block
# after .SH EXAMPLES.
awk '/^\.SH EXAMPLES/ { f = 1; next } f && /^\.EX/ { p = 1; next } p && /^\.EE/ { exit } p' \
        "$tmp/man5.txt" | ini_keys > "$tmp/doc-example"

doc_default() { awk -F'|' -v s="$1" -v k="$2" '$1 == s && $2 == k { print $3; exit }' "$tmp/doc-keys"; }
code_value() { awk -F'|' -v s="$1" -v k="$2" '$1 == s && $2 == k { print $3; exit }' "$tmp/code-keys"; }

mkdir -p "$tmp/empty"
if "$CGREAPCTL" --root="$tmp/empty" check-config > "$tmp/check-config.out" 2> "$tmp/check-config.err"; then
        ini_keys < "$tmp/check-config.out" > "$tmp/code-keys"
else
        bad "cgreapctl check-config with no configuration failed: $(cat "$tmp/check-config.err")"
fi
[ -s "$tmp/code-keys" ] || bad "cgreapctl check-config printed no Key=value lines"
# Every value of an empty configuration must say it is the default
# (or, in a monitor, inherited from the global one).
if grep -E '^[A-Za-z]+=' "$tmp/check-config.out" | grep -vq '; *default'; then
        bad "check-config with no files shows a value that is not marked default"
fi
if grep -E '^#[A-Za-z]+=' "$tmp/check-config.out" | grep -vq '; *inherited from \['; then
        bad "check-config with no files shows a commented value that is not marked inherited"
fi

n=0
while IFS='|' read -r sec key val; do
        n=$((n + 1))
        doc=$(doc_default "$sec" "$key")
        # An empty default (MetricsFile=: off) is written '.RB "Default: " ""'.
        if ! grep -q "^$sec|$key|" "$tmp/doc-keys"; then
                bad "[$sec] $key= (code default '$val') is missing from cgreap.conf(5)"
                continue
        fi
        case $doc in
        "the [Pressure] or [Kill] value")
                # A monitor inherits: its default must be the global one.
                inherited=$(code_value Pressure "$key"); [ -n "$inherited" ] || inherited=$(code_value Kill "$key")
                [ "$val" = "$inherited" ] ||
                        bad "[$sec] $key= defaults to '$val', not to the [Pressure]/[Kill] value '$inherited' as cgreap.conf(5) says"
                ;;
        *)
                [ "$val" = "$doc" ] || bad "[$sec] $key= defaults to '$val' in the code but to '$doc' in cgreap.conf(5)"
                ;;
        esac
done < "$tmp/code-keys"
while IFS='|' read -r sec key _; do
        grep -q "^$sec|$key|" "$tmp/code-keys" ||
                bad "cgreap.conf(5) documents [$sec] $key= which the code does not know"
done < "$tmp/doc-keys"
while IFS='|' read -r sec key val; do
        [ "$(code_value "$sec" "$key")" = "$val" ] ||
                bad "cgreap.conf(5) example shows [$sec] $key=$val, the code's default is '$(code_value "$sec" "$key")'"
done < "$tmp/doc-example"
echo "config keys compared: $n"

# ---- 3. every journal field and MESSAGE_ID is in cgreapd(8) ------------------------
fields=$(grep -o 'CGREAP_[A-Z0-9_]*=' "$top_srcdir/src/report.c" 2>/dev/null | sort -u || true)
[ -n "$fields" ] || bad "no CGREAP_ journal fields found in src/report.c"
for f in $fields; do
        grep -qF -- "$f" "$tmp/man8.txt" || bad "journal field $f (src/report.c) is missing from cgreapd(8)"
done
for f in $(grep -o 'CGREAP_[A-Z0-9_]*=' "$tmp/man8.txt" | sort -u); do
        grep -qx -- "$f" <<< "$fields" || bad "cgreapd(8) documents journal field $f which src/report.c never writes"
done
echo "journal fields compared: $(wc -w <<< "$fields")"
ids=$(sed -n 's/^#define REPORT_MESSAGE_ID_[A-Z_]* *"\([0-9a-f]\{32\}\)".*/\1/p' "$top_srcdir/src/report.h")
[ "$(wc -w <<< "$ids")" -ge 4 ] || bad "fewer than 4 MESSAGE_IDs found in src/report.h"
for id in $ids; do
        grep -q -- "$id" "$tmp/man8.txt" || bad "MESSAGE_ID $id (src/report.h) is missing from cgreapd(8)"
done

# ---- 4. every long option of --help is in the page, and back -------------------
# $1 program, $2 page text, $3 page name.
check_options() {
        local prog=$1 page=$2 name=$3 help opts o
        if ! help=$("$prog" --help 2>&1); then
                bad "$prog --help failed"
                return
        fi
        opts=$(grep -o -- '--[a-z][a-z0-9-]*' <<< "$help" | sort -u || true)
        [ -n "$opts" ] || { bad "$prog --help lists no long options"; return; }
        for o in $opts; do
                grep -qE -- "${o}([^a-z0-9-]|\$)" "$page" || bad "$name: option $o (from --help) is not documented"
        done
        for o in $(awk '/^\.SH OPTIONS/ { f = 1; next } /^\.SH/ { f = 0 } f' "$page" |
                   grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
                grep -qx -- "$o" <<< "$opts" || bad "$name documents option $o which --help does not list"
        done
}
check_options "$CGREAPD" "$tmp/man8.txt" "cgreapd(8)"
check_options "$CGREAPCTL" "$tmp/man1.txt" "cgreapctl(1)"
check_options "$top_builddir/src/cgreap-notify" "$tmp/man1n.txt" "cgreap-notify(1)"
ver=$("$CGREAPD" --version 2>&1 || true)
[ -n "$ver" ] || bad "cgreapd --version printed nothing"
grep -qF -- "$ver" "$tmp/man8.txt" || bad "cgreapd(8) does not show the version line '$ver'"
help=$("$CGREAPCTL" --help 2>&1 || true)
for c in check-config list explain status kill monitor metrics; do
        grep -qw -- "$c" <<< "$help" || bad "cgreapctl --help does not mention the command $c"
        grep -q "^\.B.* $c" "$tmp/man1.txt" || bad "cgreapctl(1) does not document the command $c"
done

# Every JSON member cgreapctl writes is named in cgreapctl(1).
members=$(grep -o '\\"[a-z_]*\\":' "$top_srcdir/src/ctl.c" 2>/dev/null | tr -d '\\":' | sort -u || true)
[ -n "$members" ] || bad "no JSON members found in src/ctl.c"
for m in $members; do
        grep -qw -- "$m" "$tmp/man1.txt" || bad "cgreapctl writes the JSON member '$m', which cgreapctl(1) does not document"
done
echo "JSON members compared: $(wc -w <<< "$members")"

# Every member of org.cgreap1.Manager (the committed introspection, which
# tests/live-bus.sh holds to the daemon's) is in cgreapd(8).
members=$(sed -nE 's/.*<(property|method|signal) name="([A-Za-z]+)".*/\2/p' "$top_srcdir/dbus/org.cgreap1.Manager.xml")
[ "$(wc -w <<< "$members")" -ge 10 ] || bad "fewer than 10 members found in dbus/org.cgreap1.Manager.xml"
for m in $members; do
        grep -qw -- "$m" "$tmp/man8.txt" || bad "cgreapd(8) does not document the bus member $m"
done

# ---- 5. the unit --------------------------------------------------------------
grep -q '^ProtectControlGroups=' "$unit" && bad "the unit sets ProtectControlGroups=: cgroupfs would be read-only"
grep -q '^ReadWritePaths=.*/sys/fs/cgroup' "$unit" || bad "the unit does not keep /sys/fs/cgroup writable"
grep -q '^ExecStart=/[^@ ]*/cgreapd$' "$unit" || bad "ExecStart= of the unit is not an absolute path to cgreapd"
for f in "$man8" "$man5" "$man1" "$unit"; do
        ! grep -qE '@(sbindir|bindir|sysconfdir|prefix|PACKAGE_VERSION)@' "$f" || bad "$(basename "$f") has an unsubstituted @variable@"
done
need systemd-analyze systemd "the unit (verify, system call sets, exposure)"
if command -v systemd-analyze >/dev/null; then
        # verify wants ExecStart= to exist: point it at the built daemon.
        sed "s|^ExecStart=.*|ExecStart=$CGREAPD|" "$unit" > "$tmp/cgreapd.service"
        out=$(cd "$tmp" && systemd-analyze verify --man=no ./cgreapd.service 2>&1) || bad "systemd-analyze verify failed: $out"
        # A syscall name libseccomp does not know is only a warning: treat
        # any output as a failure.
        [ -z "$out" ] || bad "systemd-analyze verify is not clean:"$'\n'"$out"

        # process_mrelease is in no group of systemd 252's filter sets: an
        # allow-list must name it, and no deny-list may remove it.
        # syscall_set @GROUP: its system calls, nested groups expanded.
        syscall_set() {
                local line
                systemd-analyze syscall-filter "$1" 2>/dev/null | tail -n +2 |
                while read -r line; do
                        case $line in
                        '#'* | '') ;;
                        @*) syscall_set "$line" ;;
                        *) echo "$line" ;;
                        esac
                done
        }
        syscall_set @system-service > "$tmp/system-service"
        grep -qx mlockall "$tmp/system-service" || bad "could not expand @system-service (no mlockall in it)"
        for sc in pidfd_open pidfd_send_signal process_mrelease; do
                if ! grep -qx "$sc" "$tmp/system-service"; then
                        grep -qE "^SystemCallFilter=[^~].*\\b$sc\\b" "$unit" ||
                                bad "the unit's SystemCallFilter= allow-list blocks $sc"
                fi
        done
        grep -qE '^SystemCallFilter=~.*(pidfd|process_mrelease|@process|@memlock|@signal)' "$unit" &&
                bad "a SystemCallFilter=~ deny-list removes a syscall the daemon needs"

        score=$(cd "$tmp" && systemd-analyze security --offline=yes ./cgreapd.service 2>&1 |
                sed -n 's/.*Overall exposure level for cgreapd.service: \([0-9.]*\).*/\1/p') || true
        # The README's table gives the number; systemd-oomd.service of
        # systemd 252 scores 2.0.
        readme=$(sed -n 's/^| `cgreapd.service` | \*\*\([0-9.]*\)\*\*.*/\1/p' "$top_srcdir/README.md")
        [ -n "$readme" ] || bad "README.md has no exposure of cgreapd.service in its Security table"
        if [ -z "$score" ]; then
                bad "systemd-analyze security --offline=yes gave no exposure level"
        else
                echo "systemd-analyze security: exposure $score (README: ${readme:-none})"
                awk -v s="$score" 'BEGIN { exit !(s < 2.0) }' ||
                        bad "exposure level $score is not below systemd-oomd.service's 2.0"
                [ -z "$readme" ] || awk -v s="$score" -v r="$readme" 'BEGIN { exit !(s <= r) }' ||
                        bad "exposure level $score is above the README's $readme"
        fi
fi

# ---- 6. the example drop-ins parse with the real config code -------------------
# The control: a broken drop-in must be refused, with file:line.
mkdir -p "$tmp/bad$CONF_DIR/cgreap.conf.d"
printf '[Kill]\nNoSuchKey=1\n' > "$tmp/bad$CONF_DIR/cgreap.conf.d/99-bad.conf"
if "$CGREAPCTL" --root="$tmp/bad" check-config > /dev/null 2> "$tmp/bad.err"; then
        bad "check-config accepted a drop-in with an unknown key"
else
        grep -q '99-bad.conf:2:' "$tmp/bad.err" || bad "check-config did not say 99-bad.conf:2: ($(cat "$tmp/bad.err"))"
fi

for f in "$top_srcdir"/contrib/*.conf; do
        name=$(basename "$f")
        root=$tmp/contrib-$name
        mkdir -p "$root$CONF_DIR/cgreap.conf.d"
        cp "$f" "$root$CONF_DIR/cgreap.conf.d/"
        if "$CGREAPCTL" --root="$root" check-config > "$root.out" 2> "$root.err"; then
                # Its values must show up, attributed to it.
                grep -q "$name:[0-9]" "$root.out" || bad "check-config did not attribute any value to contrib/$name"
                echo "contrib/$name: valid"
        else
                bad "contrib/$name does not parse:"$'\n'"$(cat "$root.err")"
        fi
done

# conf/cgreap.conf shows every key commented out at its default,
# systemd style: "#Key=value" under its (possibly commented)
# [Section] header. A monitor's inherited keys may be left empty.
awk '
/^#?\[/ { sec = $0; sub(/^#?\[/, "", sec); sub(/[] ].*$/, "", sec); next }
/^#[A-Za-z]+=/ {
        key = substr($0, 2, index($0, "=") - 2); val = substr($0, index($0, "=") + 1)
        print sec "|" key "|" val
}' "$top_srcdir/conf/cgreap.conf" > "$tmp/conf-keys"
while IFS='|' read -r sec key val; do
        shipped=$(awk -F'|' -v s="$sec" -v k="$key" '$1 == s && $2 == k' "$tmp/conf-keys")
        if [ -z "$shipped" ]; then
                bad "conf/cgreap.conf does not show [$sec] #$key= (default '$val')"
                continue
        fi
        [ "$(wc -l <<< "$shipped")" = 1 ] || bad "conf/cgreap.conf shows [$sec] #$key= more than once"
        shipped=${shipped#*|*|}
        [ "$shipped" = "$val" ] && continue
        if [ -z "$shipped" ] && [ "$(doc_default "$sec" "$key")" = "the [Pressure] or [Kill] value" ]; then
                continue
        fi
        bad "conf/cgreap.conf shows [$sec] #$key=$shipped, the code's default is '$val'"
done < "$tmp/code-keys"
while IFS='|' read -r sec key _; do
        grep -q "^$sec|$key|" "$tmp/code-keys" ||
                bad "conf/cgreap.conf shows [$sec] #$key= which the code does not know"
done < "$tmp/conf-keys"
echo "conf/cgreap.conf keys compared: $(wc -l < "$tmp/conf-keys")"

if grep -qv '^[#;]\|^$' "$top_srcdir/conf/cgreap.conf"; then
        mkdir -p "$tmp/main$CONF_DIR"
        cp "$top_srcdir/conf/cgreap.conf" "$tmp/main$CONF_DIR/"
        "$CGREAPCTL" --root="$tmp/main" check-config > /dev/null 2> "$tmp/main.err" ||
                bad "conf/cgreap.conf does not parse:"$'\n'"$(cat "$tmp/main.err")"
fi

# ---- 6b. the configuration paths: --help, the man pages and the loader agree ----
# The paths of the "Configuration files" block of --help.
help_paths() {
        "$1" --help 2>&1 | awk '/^Configuration files/ { f = 1; next } f && /^  \// { print; next } f { exit }' |
                grep -o '/[^ )]*' || true
}
ctl_paths=$(help_paths "$CGREAPCTL")
d_paths=$(help_paths "$CGREAPD")
[ -n "$ctl_paths" ] || bad "cgreapctl --help names no configuration files"
[ "$ctl_paths" = "$d_paths" ] ||
        bad "cgreapctl --help and cgreapd --help name different configuration files:"$'\n'"$ctl_paths"$'\n'"vs"$'\n'"$d_paths"
main_file=$(head -n 1 <<< "$ctl_paths")
[ "$main_file" = "$sysconfdir/cgreap/cgreap.conf" ] ||
        bad "--help names $main_file as the main file, but make installs conf/cgreap.conf as $sysconfdir/cgreap/cgreap.conf"
grep -qx -- "$sysconfdir/cgreap/cgreap.conf.d/\*.conf" <<< "$ctl_paths" ||
        bad "--help does not name $sysconfdir/cgreap/cgreap.conf.d/ among the drop-in directories"
# cgreap.conf(5)'s SYNOPSIS lists the same files.
man_paths=$(awk '/^\.SH SYNOPSIS/ { f = 1; next } /^\.SH/ { f = 0 } f && /^\.I / { print $2 }' "$tmp/man5.txt" | sort)
[ "$man_paths" = "$(sort <<< "$ctl_paths")" ] ||
        bad "cgreap.conf(5) SYNOPSIS and --help name different files:"$'\n'"$man_paths"$'\n'"vs"$'\n'"$(sort <<< "$ctl_paths")"
# Wherever cgreapd(8) and cgreapctl(1) name a configuration file, it is one of them.
for page in "$tmp/man8.txt" "$tmp/man1.txt"; do
        for p in $(grep -o '/[^ ]*/cgreap/cgreap\.conf[.d/*a-z]*' "$page" | grep -v '^/tmp/' | sort -u); do
                grep -qxF -- "$p" <<< "$ctl_paths" || bad "$(basename "$page" .txt) names $p, which --help does not list"
        done
done
grep -qF -- "$main_file" "$tmp/man8.txt" || bad "cgreapd(8) does not name the main file $main_file"
grep -qF -- "$main_file" "$tmp/man1.txt" || bad "cgreapctl(1) does not name the main file $main_file"

# Each of them is read: a file at that path below a fake root is the
# source check-config gives for its value.
n=0
for p in $ctl_paths; do
        n=$((n + 1))
        probe=$tmp/paths-$n
        case $p in
        */\*.conf) file=${p%/\*.conf}/50-probe.conf ;;
        *) file=$p ;;
        esac
        mkdir -p "$probe$(dirname "$file")"
        printf '[Kill]\nDefaultAdj=%d\n' "$((10 + n))" > "$probe$file"
        if "$CGREAPCTL" --root="$probe" check-config > "$probe.out" 2>&1; then
                grep -qxF "DefaultAdj=$((10 + n)) ; from $probe$file:2" "$probe.out" ||
                        bad "check-config did not read $file, named by --help:"$'\n'"$(cat "$probe.out")"
        else
                bad "check-config failed on a probe at $file: $(cat "$probe.out")"
        fi
done
echo "configuration paths compared and probed: $n"

# ---- 7. bash completion ---------------------------------------------------------
completion=$top_srcdir/contrib/bash-completion/cgreapctl
bash -n "$completion" || bad "contrib/bash-completion/cgreapctl has a syntax error"
mkdir -p "$tmp/cg/system.slice/nginx.service" "$tmp/cg/user.slice"
# Completion functions call compopt, which fails outside a completion: run
# them in a shell of their own, without -e.
complete_words() {
        bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
                 _cgreapctl 2>/dev/null; printf "%s\n" "${COMPREPLY[@]}"' _ "$completion" "$@"
}
[ "$(complete_words cgreapctl '' | tr '\n' ' ')" = "check-config list explain status kill monitor metrics " ] ||
        bad "completion of the command is not 'check-config list explain status kill monitor metrics'"
[ "$(complete_words cgreapctl --cgroup-root "$tmp/cg" kill /sys)" = "/system.slice/" ] ||
        bad "completion of a cgroup path after kill is not /system.slice/"
[ "$(complete_words cgreapctl --level = '' | tr '\n' ' ')" = "medium critical " ] ||
        bad "completion of --level= is not 'medium critical'"
[ "$(complete_words cgreapctl --cgroup-root "$tmp/cg" list /sys)" = "/system.slice/" ] ||
        bad "completion of a cgroup path after list is not /system.slice/"
[ "$(complete_words cgreapctl --cgroup-root "$tmp/cg" explain /system.slice/)" = "/system.slice/nginx.service/" ] ||
        bad "completion of a cgroup path after explain is not /system.slice/nginx.service/"
comp_opts=$(complete_words cgreapctl -)
for o in $( ("$CGREAPCTL" --help 2>&1 || true) | grep -o -- '--[a-z][a-z0-9-]*' | sort -u); do
        grep -q -- "^$o=\?\$" <<< "$comp_opts" || bad "bash completion does not offer $o"
done

# ---- the documents' links lead somewhere ----
# Relative links of every Markdown document users read, resolved from the
# document's directory; an unlinked "DESIGN.md" was once a dead reference.
# bench/results/ is left out of the tarball (EXTRA_DIST): its links only
# count where it exists.
for md in README.md DESIGN-NOTES.md docs/DESIGN.md tests/vm/README.md bench/README.md; do
        [ -f "$top_srcdir/$md" ] || { bad "$md is missing"; continue; }
        dir=$(dirname "$top_srcdir/$md")
        for target in $(grep -o '\]([^)#[:space:]]*' "$top_srcdir/$md" | sed 's/^](//' | grep -v -e '^[a-z]*:' -e '^$' | sort -u); do
                case $dir/$target in
                "$top_srcdir"/bench/results/*) [ -d "$top_srcdir/bench/results" ] || continue ;;
                esac
                [ -e "$dir/$target" ] || bad "$md links to $target, which does not exist"
        done
        bare=$(grep -n -P '(?<![/A-Za-z-])DESIGN\.md' "$top_srcdir/$md" | grep -v '](docs/DESIGN.md)' || true)
        [ -z "$bare" ] || bad "$md names DESIGN.md without its place (docs/DESIGN.md): $bare"
done

if [ "$failures" -gt 0 ]; then
        echo "$failures check(s) failed"
        exit 1
fi
pass "man pages, unit, examples and completion agree with the code"
