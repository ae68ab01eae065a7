#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# cgreapctl over a fake cgroup2 tree and a fake configuration root, with no
# privileges and no real cgroups: a CGROUP argument with '..' is refused
# before anything outside the mount is read, cgroup.procs entries of 0
# (processes in another pid namespace) do not break the snapshot, a bad
# cgroup file is named in the error, the mount's controllers are reported
# (unknown names too), footprint ties that print alike are told apart in
# bytes, adj -1000 counts as protected in --json, cgroups that cannot be
# read leave the rest to rank, names with escape sequences are printed
# escaped, a name-only rule does not protect a cgroup in a delegated
# subtree (as root), and drop-ins that are
# FIFOs, directories or dangling symlinks are skipped with a warning
# instead of hanging or failing.
#
# Needs: top_srcdir, CGREAPCTL, sysconfdir (set by make check).

. "${top_srcdir:?}/tests/lib.sh"
: "${CGREAPCTL:?}"
command -v jq >/dev/null || skip "jq is not installed"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cgreap-test-ctl.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

F=$tmp/cgroup          # the fake cgroup2 mount
R=$tmp/root            # the fake configuration root
mkcg() {               # mkcg PATH PROCS [MEMORY]
        mkdir -p "$F$1"
        printf '%b' "$2" > "$F$1/cgroup.procs"
        printf 'populated 1\nfrozen 0\n' > "$F$1/cgroup.events"
        [ -z "${3:-}" ] || echo "$3" > "$F$1/memory.current"
}
mkcg "" ""
echo "cpuset cpu io memory hugetlb pids rdma misc dmem" > "$F/cgroup.controllers"
mkcg /a.slice ""
# Processes of another pid namespace: the kernel lists them as 0. Both
# footprints print as 1.8M.
mkcg /a.slice/x.scope '0\n' 1887437
mkcg /a.slice/y.scope '0\n0\n' 1887436
mkcg /a.slice/omit.scope '0\n' 4096
# Next to the mount, where '..' would lead.
mkdir -p "$tmp/outside.service"
: > "$tmp/outside.service/cgroup.procs"

mkdir -p "$R$CONF_DIR/cgreap.conf.d"
printf '[Priority]\n/a.slice/*.scope = 500\nomit.scope = -1000\n' > "$R$CONF_DIR/cgreap.conf.d/50-test.conf"
ctl() { "$CGREAPCTL" --root="$R" --cgroup-root="$F" "$@"; }

# ---- list and explain over the tree ----
ctl list > "$tmp/list.out" 2> "$tmp/list.err" || fail "list failed: $(cat "$tmp/list.err")"
grep -qxF "cgroup2 mount $F, controllers: cpuset cpu io memory hugetlb pids rdma misc dmem." "$tmp/list.out" ||
        fail "list does not name the mount and all its controllers: $(cat "$tmp/list.out")"
grep -Eq "^ +1 +500 .* 0 +eligible-medium +/a.slice/x.scope\$" "$tmp/list.out" ||
        fail "list: x.scope (only pid 0 in cgroup.procs) is not the first candidate: $(cat "$tmp/list.out")"
pass "list reads cgroup.procs with pid 0 entries and names the mount's controllers"

ctl explain --json > "$tmp/explain.json" || fail "explain --json failed"
jq -e --arg f "$F" '.cgroup_mount == $f and
        .controllers == ["cpuset","cpu","io","memory","hugetlb","pids","rdma","misc","dmem"] and
        .victim == "/a.slice/x.scope"' "$tmp/explain.json" >/dev/null ||
        fail "explain --json: mount, controllers or victim wrong: $(cat "$tmp/explain.json")"
jq -e '(.candidates[] | select(.cgroup == "/a.slice/y.scope") | .reason) ==
        "same adj, smaller footprint (1887436 < 1887437 bytes)"' "$tmp/explain.json" >/dev/null ||
        fail "explain: a footprint tie that prints alike is not given in bytes: $(cat "$tmp/explain.json")"
pass "explain: mount and controllers in JSON, exact bytes when 1.8M < 1.8M"

ctl list --json > "$tmp/list.json" || fail "list --json failed"
jq -e '(.[] | select(.cgroup == "/a.slice/omit.scope") |
                .protected == true and .skip == "never-kill" and .protected_reason == "never killed: adj -1000") and
        (.[] | select(.cgroup == "/a.slice/x.scope") | .protected == false and .protected_reason == null)' \
        "$tmp/list.json" >/dev/null || fail "list --json: adj -1000 is not protected: $(cat "$tmp/list.json")"
pass "list --json: adj -1000 is protected, with the reason"

# ---- no way out of the mount ----
for arg in ../outside.service /a.slice/../../outside.service /./a.slice; do
        for cmd in list explain; do
                set +e
                ctl "$cmd" "$arg" > "$tmp/esc.out" 2> "$tmp/esc.err"
                rc=$?
                set -e
                [ "$rc" = 1 ] || fail "$cmd $arg exited $rc, not 1: $(cat "$tmp/esc.out")"
                grep -qF "Invalid cgroup '$arg': '.' and '..' are not cgroup names" "$tmp/esc.err" ||
                        fail "$cmd $arg: no clear message: $(cat "$tmp/esc.err")"
                [ ! -s "$tmp/esc.out" ] || fail "$cmd $arg printed a listing: $(cat "$tmp/esc.out")"
        done
done
ctl list /a.slice/ > /dev/null || fail "list /a.slice/ (a trailing slash is fine) failed"
pass "CGROUP with '.' or '..' is refused with exit status 1"

# ---- a cgroup that cannot be read is named, and the rest still ranks ----
mkcg /a.slice/bad.scope '12abc\n'
# cgroup.procs a directory: EISDIR, as EOPNOTSUPP in a threaded cgroup.
mkcg /a.slice/threaded.scope ''
rm "$F/a.slice/threaded.scope/cgroup.procs"
mkdir "$F/a.slice/threaded.scope/cgroup.procs"
ctl list > "$tmp/bad.out" 2> "$tmp/bad.err" || fail "list over unreadable cgroups failed: $(cat "$tmp/bad.err")"
grep -qxF "Could not read 2 cgroups (first: $F/a.slice/bad.scope/cgroup.procs: Invalid argument), ranking the rest." \
        "$tmp/bad.err" || fail "the warning does not name the file: $(cat "$tmp/bad.err")"
ctl explain --json 2>/dev/null | jq -e '.victim == "/a.slice/x.scope"' >/dev/null ||
        fail "explain over a tree with unreadable cgroups names no victim"
rm -r "$F/a.slice/bad.scope" "$F/a.slice/threaded.scope"
pass "cgroups that cannot be read are named in a warning, and a victim is still chosen"

# ---- names with escape sequences reach no terminal raw ----
esc=$(printf 'evil\033]0;pwned\a\033[2J\302\233x.scope')
mkcg "/a.slice/$esc" '0\n' 99999999
ctl list > "$tmp/esc-list.out" 2>&1 || fail "list with an escape-sequence name failed"
ctl explain > "$tmp/esc-explain.out" 2>&1 || fail "explain with an escape-sequence name failed"
for f in "$tmp/esc-list.out" "$tmp/esc-explain.out"; do
        if LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$f" || LC_ALL=C grep -q $'\xc2[\x80-\x9f]' "$f"; then
                fail "raw control bytes in $(basename "$f"): $(od -c "$f" | head -20)"
        fi
done
grep -qF 'evil\x1b]0;pwned\x07\x1b[2J\xc2\x9bx.scope' "$tmp/esc-explain.out" ||
        fail "explain does not show the name escaped: $(cat -v "$tmp/esc-explain.out")"
ctl explain --json | jq -e --arg n "/a.slice/$esc" '.victim == $n' >/dev/null ||
        fail "explain --json does not keep the exact name"
rm -r "$F/a.slice/$esc"
pass "list and explain escape control characters in cgroup names; --json keeps the bytes"

# ---- drop-ins that are not regular files ----
D=$R$CONF_DIR/cgreap.conf.d
mkfifo "$D/60-fifo.conf"
mkdir "$D/70-dir.conf"
ln -s /nonexistent/cgreap.conf "$D/80-dangling.conf"
set +e
timeout 10 "$CGREAPCTL" --root="$R" check-config > "$tmp/types.out" 2> "$tmp/types.err"
rc=$?
set -e
[ "$rc" != 124 ] || fail "check-config hung on a FIFO drop-in"
[ "$rc" = 0 ] || fail "check-config with odd drop-ins exited $rc: $(cat "$tmp/types.err")"
for w in "$D/60-fifo.conf: not a regular file, ignored" "$D/70-dir.conf: not a regular file, ignored" \
         "$D/80-dangling.conf: dangling symlink, ignored"; do
        grep -qxF "$w" "$tmp/types.err" || fail "check-config did not warn '$w': $(cat "$tmp/types.err")"
done
grep -qF "50-test.conf:2" "$tmp/types.out" || fail "the regular drop-in was not read: $(cat "$tmp/types.out")"
"$CGREAPCTL" --root="$R" check-config --json 2>/dev/null |
        jq -e '.valid and (.warnings | length) == 3' >/dev/null || fail "check-config --json has no 3 warnings"
ln -sf /dev/null "$D/80-dangling.conf"
timeout 10 "$CGREAPCTL" --root="$R" check-config > /dev/null 2> "$tmp/mask.err" || fail "check-config with a mask failed"
grep -qF 80-dangling.conf "$tmp/mask.err" && fail "a symlink to /dev/null is a mask, not a warning: $(cat "$tmp/mask.err")"

set +e
timeout 10 "$CGREAPCTL" --config="$D/60-fifo.conf" check-config > /dev/null 2> "$tmp/main.err"
rc_fifo=$?
"$CGREAPCTL" --config="$D/70-dir.conf" check-config > /dev/null 2> "$tmp/dir.err"
rc_dir=$?
set -e
[ "$rc_fifo" = 1 ] || fail "--config FIFO exited $rc_fifo, not 1"
grep -qxF "$D/60-fifo.conf: cannot read config file: not a regular file" "$tmp/main.err" ||
        fail "--config FIFO: $(cat "$tmp/main.err")"
[ "$rc_dir" = 1 ] || fail "--config DIR exited $rc_dir, not 1"
grep -qxF "$D/70-dir.conf: cannot read config file: Is a directory" "$tmp/dir.err" ||
        fail "--config DIR: $(cat "$tmp/dir.err")"
pass "FIFO, directory and dangling drop-ins are skipped with a warning; as --config they are errors"

# ---- a mistyped --root is an error, not "built-in defaults" ----
for bad in "$tmp/no-such-root" "$D/50-test.conf"; do
        set +e
        "$CGREAPCTL" --root="$bad" check-config > "$tmp/badroot.out" 2> "$tmp/badroot.err"
        rc=$?
        set -e
        [ "$rc" = 1 ] || fail "--root=$bad exited $rc, not 1: $(cat "$tmp/badroot.out")"
        grep -qE "^Configuration root $bad: (No such file or directory|Not a directory)\$" "$tmp/badroot.err" ||
                fail "--root=$bad: $(cat "$tmp/badroot.err")"
        grep -q "built-in defaults" "$tmp/badroot.out" && fail "--root=$bad fell back to the defaults"
done
set +e
"$CGREAPCTL" --config="$tmp/no-such.conf" check-config > /dev/null 2> "$tmp/badconf.err"
rc=$?
set -e
[ "$rc" = 1 ] || fail "--config of a missing file exited $rc, not 1"
grep -qxF "$tmp/no-such.conf: cannot read config file: No such file or directory" "$tmp/badconf.err" ||
        fail "--config missing: $(cat "$tmp/badconf.err")"
pass "a --root or --config that does not exist is an error naming it"

# ---- list and explain say in one line when cgreapd cannot run here ----
cannot="cgreapd cannot run on this host: the cgroup2 mount $F has no memory controller."
for cmd in list explain; do
        ctl "$cmd" > "$tmp/mem.out" || fail "$cmd with memory failed"
        grep -q "cannot run" "$tmp/mem.out" && [ -e /proc/pressure/memory ] &&
                fail "$cmd says cgreapd cannot run although the mount has the memory controller and PSI"
done
echo "cpu io pids" > "$F/cgroup.controllers"
for cmd in list explain; do
        ctl "$cmd" > "$tmp/nomem.out" || fail "$cmd without memory failed"
        [ "$(grep -c "cannot run" "$tmp/nomem.out")" = 1 ] && grep -qxF "$cannot" "$tmp/nomem.out" ||
                fail "$cmd on a mount without the memory controller: $(cat "$tmp/nomem.out")"
done
# This machine as it is: the line appears exactly when the real mount lacks
# the memory controller or the kernel lacks PSI (cgreapd.service's conditions).
real=$(cgroup2_mount)
if [ -n "$real" ] && [ -r "$real/cgroup.controllers" ]; then
        "$CGREAPCTL" --root="$R" list > "$tmp/real.out" || fail "list on this machine failed"
        if ! grep -qw memory "$real/cgroup.controllers"; then
                grep -qxF "cgreapd cannot run on this host: the cgroup2 mount $real has no memory controller." "$tmp/real.out" ||
                        fail "list on $real (controllers: $(cat "$real/cgroup.controllers")) does not say cgreapd cannot run: $(cat "$tmp/real.out")"
        elif [ ! -e /proc/pressure/memory ]; then
                grep -q "^cgreapd cannot run on this host: the kernel has no PSI" "$tmp/real.out" ||
                        fail "list without PSI does not say cgreapd cannot run: $(cat "$tmp/real.out")"
        else
                grep -q "cannot run" "$tmp/real.out" && fail "list says cgreapd cannot run on a capable host: $(cat "$tmp/real.out")"
        fi
fi
pass "list and explain say in one line that cgreapd cannot run without the memory controller or PSI"

# ---- trust follows ownership (needs root to chown) ----
# With the shipped cgreap.conf, a user's 4 GiB cgroup that calls itself
# ssh.service inside their delegated user@1000.service gets no -900 from
# the name rule: it is the victim, not nginx.
require_root
H=$tmp/hostile
R2=$tmp/root2
mkdir -p "$R2$CONF_DIR"
cp "$top_srcdir/conf/cgreap.conf" "$R2$CONF_DIR/cgreap.conf"
hcg() {                # hcg PATH PROCS [MEMORY]
        mkdir -p "$H$1"
        printf '%b' "$2" > "$H$1/cgroup.procs"
        printf 'populated 1\nfrozen 0\n' > "$H$1/cgroup.events"
        [ -z "${3:-}" ] || echo "$3" > "$H$1/memory.current"
}
U=/user.slice/user-1000.slice/user@1000.service
hcg "" ""
hcg /system.slice ""
hcg /system.slice/ssh.service '0\n' 10485760
hcg /system.slice/nginx.service '0\n' 524288000
hcg /user.slice ""
hcg /user.slice/user-1000.slice ""
hcg $U ""
hcg $U/init.scope '0\n' 8388608
hcg $U/app.slice ""
hcg $U/app.slice/ssh.service '0\n' 4294967296
hcg $U/app.slice/app-firefox-1.scope '0\n' 1073741824
chown -R 1000:1000 "$H$U"
sshline=$(grep -n '^ssh.service = ' "$R2$CONF_DIR/cgreap.conf" | cut -d: -f1)
"$CGREAPCTL" --root="$R2" --cgroup-root="$H" explain --json > "$tmp/hostile.json" ||
        fail "explain over the hostile tree failed"
jq -e --arg v "$U/app.slice/ssh.service" --arg c "$R2$CONF_DIR/cgreap.conf:$sshline" '.victim == $v and
        (.candidates[] | select(.cgroup == "/system.slice/ssh.service") | .adj == -900 and .delegated_at == null) and
        (.candidates[] | select(.cgroup == $v) | .untrusted_rule == $c and
                .delegated_at == "/user.slice/user-1000.slice/user@1000.service" and .adj_raised == false) and
        (.candidates[] | select(.cgroup == ($v | sub("app.slice/ssh.service"; "init.scope"))) | .adj) == -900' \
        "$tmp/hostile.json" >/dev/null || fail "the user's ssh.service is not the victim: $(cat "$tmp/hostile.json")"
"$CGREAPCTL" --root="$R2" --cgroup-root="$H" explain > "$tmp/hostile.out" || fail "explain (text) failed"
grep -qF "rule cgreap.conf:$sshline (ssh.service = -900) not honoured: $U is delegated to uid 1000, which chose the names below it." \
        "$tmp/hostile.out" || fail "explain does not say why the name rule was not honoured: $(cat "$tmp/hostile.out")"
pass "shipped config: a delegated cgroup named ssh.service is the victim, and explain says why"

# ---- no daemon to ask: computed locally, said in one line ----
# The real cgroup2 mount (read only): the daemon is asked only about the
# tree it runs on, never with --cgroup-root. No bus at the address.
grep -q ' - cgroup2 ' /proc/self/mountinfo || fail "no cgroup2 mount: the fallback of list/explain cannot be shown"
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$tmp/no-bus.sock
"$CGREAPCTL" --root="$R" list --json / > "$tmp/fb.json" 2> "$tmp/fb.err" || fail "list without a bus failed: $(cat "$tmp/fb.err")"
grep -c '^cgreapd is not running or did not answer (.*): computed locally, without the kills in flight and the victims passed over\.$' \
        "$tmp/fb.err" | grep -qx 1 || fail "list without a bus did not say so in one line: $(cat "$tmp/fb.err")"
jq -e 'length > 0 and all(.[]; .being_killed == null and .passed_over == null)' "$tmp/fb.json" >/dev/null ||
        fail "list --json without a daemon claims to know kills in flight"
"$CGREAPCTL" --root="$R" explain --json / 2>/dev/null | jq -e '.live == false' >/dev/null ||
        fail "explain --json without a daemon: live is not false"
ctl list > /dev/null 2> "$tmp/fb.err" || fail "list over --cgroup-root failed"
grep -q 'did not answer' "$tmp/fb.err" && fail "list with --cgroup-root asked the daemon: $(cat "$tmp/fb.err")"
unset DBUS_SYSTEM_BUS_ADDRESS
pass "without a daemon list/explain compute locally and say so in one line; --cgroup-root never asks"
