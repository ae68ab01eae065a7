#!/bin/bash
# cgreapctl on a real cgroup2 tree with real processes: list --json gives the
# exact kill order and where every adj came from (rules on the cgroup and on
# an ancestor, user.oomd_omit/avoid xattrs, oom_score_adj, DefaultAdj), a
# running cgreapd's cgroup is protected, explain picks the expected victim at
# each level and says why the others were not chosen, check-config reports a
# broken drop-in as "path:line:" and exits 1.
. "$top_srcdir/tests/lib.sh"

require_root
live_test_lock
require_cgroup2
[ -n "${CGREAPCTL:-}" ] && [ -x "$CGREAPCTL" ] || skip "CGREAPCTL does not name the built cgreapctl"
command -v jq >/dev/null || skip "jq is not installed"
command -v setfattr >/dev/null || skip "setfattr (package attr) is not installed"

NAME=cgreap-test-$$-ctl.slice   # a slice, so that the cgroups below map to units
TOP=/$NAME
BASE=$CG2$TOP
TMP=$(mktemp -d /tmp/cgreap-ctl-XXXXXX)
PIDS=()

cleanup() {
        local d i
        for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
        for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
        if [ -d "$BASE" ]; then
                # deepest first; a cgroup whose last process is still exiting is EBUSY for a moment
                while read -r d; do
                        for i in $(seq 50); do
                                rmdir "$d" 2>/dev/null && break
                                [ -d "$d" ] || break
                                sleep 0.1
                        done
                done < <(find "$BASE" -depth -type d)
        fi
        [ ! -d "$BASE" ] || echo "WARNING: could not remove $BASE" >&2
        rm -rf "$TMP"
}
trap cleanup EXIT

# Start "prog 1000" in cgroup $1 (relative to TOP); sets PID.
spawn_in() {
        local cg=$1 prog=${2:-sleep}
        mkdir -p "$BASE/$cg"
        "$prog" 1000 </dev/null >/dev/null 2>&1 &
        PID=$!
        PIDS+=("$PID")
        echo "$PID" > "$BASE/$cg/cgroup.procs"
        # A process inherits the test runner's oom_score_adj: make it the
        # kernel default so that it does not speak for its cgroup.
        echo 0 > "/proc/$PID/oom_score_adj" 2>/dev/null || true
}

mkdir "$BASE"
setfattr -n user.cgreap_probe -v 1 "$BASE" 2>/dev/null ||
        skip "cgroup2 at $CG2 does not take user.* xattrs (kernel < 5.7?)"
setfattr -x user.cgreap_probe "$BASE"

spawn_in batch.slice/job-a.service
spawn_in batch.slice/job-b.service
spawn_in app.slice/app-firefox-1.scope
spawn_in web.slice/inner.slice/site.service
spawn_in plain.service
spawn_in omit.service
setfattr -n user.oomd_omit -v 1 "$BASE/omit.service"
spawn_in avoid.service
setfattr -n user.oomd_avoid -v 1 "$BASE/avoid.service"
spawn_in oomadj.service
echo 700 > "/proc/$PID/oom_score_adj"
[ "$(cat "/proc/${PIDS[0]}/oom_score_adj")" = 0 ] ||
        skip "cannot reset oom_score_adj to 0 (runner has $(cat /proc/self/oom_score_adj), no CAP_SYS_RESOURCE)"

# A running "cgreapd" (a copy of sleep with that name) in agent.service: its
# cgroup must come out protected although a rule gives it 1000. Only when no
# other cgreapd runs, or the one found could be that one.
OTHER_AGENTS=$(pgrep -x cgreapd || true)
if [ -z "$OTHER_AGENTS" ]; then
        cp "$(command -v sleep)" "$TMP/cgreapd"
        spawn_in agent.service "$TMP/cgreapd"
        # cgreapctl finds the agent by its name, which it has only once the
        # forked shell has exec'd.
        for _ in $(seq 50); do
                [ "$(cat "/proc/$PID/comm" 2>/dev/null)" = cgreapd ] && break
                sleep 0.1
        done
fi

if grep -qw memory "$CG2/cgroup.controllers"; then
        MEMCG=yes
else
        MEMCG=no
        echo "NOTE: $CG2 has no memory controller: footprints are the processes' RSS, memory_bytes is null"
fi

# ---- config ----
ROOT=$TMP/root
mkdir -p "$ROOT$CONF_DIR/cgreap.conf.d"
cat > "$ROOT$CONF_DIR/cgreap.conf" <<EOF
[Kill]
MediumMinAdj=500
CriticalMinAdj=0
DefaultAdj=50
EOF
# Line numbers matter: the assertions below name them.
cat > "$ROOT$CONF_DIR/cgreap.conf.d/50-test.conf" <<EOF
[Priority]
/cgreap-test-*/batch.slice = 400
job-b.service = 750
app-firefox-*.scope = 800
omit.service = 900
avoid.service = 300
/cgreap-test-*/web.slice/inner.slice = 450
web.slice = 250
agent.service = 1000
EOF

ctl() { "$CGREAPCTL" --root="$ROOT" "$@"; }

ctl check-config > "$TMP/check.out" || fail "check-config on a valid config failed"
grep -q "50-test.conf:4" "$TMP/check.out" || fail "check-config does not name the rule's file:line: $(cat "$TMP/check.out")"
pass "check-config accepts the test config"

# ---- list --json: the exact order and every adj's source ----
ctl list --json "$TOP" > "$TMP/list.json" || fail "list --json failed"
jq -e 'type == "array"' "$TMP/list.json" >/dev/null || fail "list --json is not a JSON array"

jq -r '.[] | [.cgroup, .adj, .adj_source, .adj_source_detail, (.skip // "-"), .eligible_medium, .eligible_critical] | @tsv' \
        "$TMP/list.json" | sed "s|$TOP|TOP|g" > "$TMP/list.got"
{
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
                TOP/app.slice/app-firefox-1.scope 800 rule "rule 50-test.conf:4" - true true \
                TOP/batch.slice/job-b.service 750 rule "rule 50-test.conf:3" - true true \
                TOP/oomadj.service 700 oom-score-adj oom_score_adj - true true \
                TOP/web.slice/inner.slice/site.service 450 rule-parent "rule 50-test.conf:7 via TOP/web.slice/inner.slice" - false true \
                TOP/batch.slice/job-a.service 400 rule-parent "rule 50-test.conf:2 via TOP/batch.slice" - false true \
                TOP/plain.service 50 default default - false true \
                TOP/avoid.service -900 xattr-avoid "xattr user.oomd_avoid" below-floor false false
        if [ -z "$OTHER_AGENTS" ]; then
                # protected and omitted both rank at -1000; the larger RSS first, so
                # only assert that both are there, below everything else (sorted)
                printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
                        TOP/agent.service -1000 protected protected protected false false \
                        TOP/omit.service -1000 xattr-omit "xattr user.oomd_omit" never-kill false false
        else
                printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
                        TOP/omit.service -1000 xattr-omit "xattr user.oomd_omit" never-kill false false
        fi
} > "$TMP/list.want"
# The first 7 rows in order, the -1000 tail as a set.
if ! diff -u <(head -n 7 "$TMP/list.want") <(head -n 7 "$TMP/list.got") ||
   ! diff -u <(tail -n +8 "$TMP/list.want" | sort) <(tail -n +8 "$TMP/list.got" | sort); then
        cat "$TMP/list.json" >&2
        fail "list --json: wrong order or adj sources"
fi
pass "list --json: order, adj and sources of $(wc -l < "$TMP/list.got") cgroups"

jq -e --arg top "$TOP" '
        (map(select(.cgroup == ($top + "/oomadj.service")))[0] | .pids | length) == 1 and
        all(.[]; .footprint_bytes > 0) and
        all(.[]; .unit != null) and
        (map(select(.cgroup == ($top + "/batch.slice/job-a.service")))[0] | .unit) == "job-a.service" and
        (map(select(.cgroup == ($top + "/batch.slice/job-a.service")))[0] | .adj_from) == ($top + "/batch.slice")' \
        "$TMP/list.json" >/dev/null || fail "list --json: pids/footprint/unit/adj_from wrong: $(cat "$TMP/list.json")"
if [ "$MEMCG" = no ]; then
        jq -e 'all(.[]; .memory_bytes == null)' "$TMP/list.json" >/dev/null || fail "memory_bytes must be null without the memory controller"
fi
pass "list --json: pids, units, footprints"

# ---- list, the table ----
ctl list "$TOP" > "$TMP/list.txt" || fail "list failed"
head -n 1 "$TMP/list.txt" | grep -Eq '^RANK +ADJ +SOURCE +MEMORY +PROCS +STATE +CGROUP$' || fail "list: bad header: $(head -n 1 "$TMP/list.txt")"
grep -Eq "^ +1 +800 +rule 50-test.conf:4 .* eligible-medium +$TOP/app.slice/app-firefox-1.scope\$" "$TMP/list.txt" ||
        fail "list: firefox is not rank 1: $(cat "$TMP/list.txt")"
grep -Eq "^ +5 +400 +rule 50-test.conf:2 via batch.slice .* eligible-critical +$TOP/batch.slice/job-a.service\$" "$TMP/list.txt" ||
        fail "list: job-a row wrong: $(cat "$TMP/list.txt")"
grep -Eq "^ +- +-1000 +xattr user.oomd_omit .* never +$TOP/omit.service\$" "$TMP/list.txt" ||
        fail "list: omit row wrong: $(cat "$TMP/list.txt")"
# Everything but the cgroup path fits well inside 100 columns.
head -n 1 "$TMP/list.txt" | awk '{ exit !(index($0, "CGROUP") <= 80) }' || fail "list: columns before CGROUP too wide"
cat "$TMP/list.txt"
pass "list: the table"

# ---- explain ----
ctl explain --json --level critical "$TOP" > "$TMP/explain.json" || fail "explain --json failed"
jq -e --arg top "$TOP" '.victim == ($top + "/app.slice/app-firefox-1.scope") and .level == "critical" and .min_adj == 0' \
        "$TMP/explain.json" >/dev/null || fail "explain critical: wrong victim: $(cat "$TMP/explain.json")"
jq -e --arg top "$TOP" '
        (.candidates[] | select(.cgroup == ($top + "/batch.slice/job-b.service")) | .reason) == "lower adj (750 < 800)" and
        (.candidates[] | select(.cgroup == ($top + "/avoid.service")) | .reason) == "below the floor: adj -900 < 0" and
        (.candidates[] | select(.cgroup == ($top + "/omit.service")) | .reason) == "never killed: adj -1000" and
        ([.candidates[] | select(.victim)] | length) == 1' \
        "$TMP/explain.json" >/dev/null || fail "explain critical: wrong reasons: $(cat "$TMP/explain.json")"
if [ -z "$OTHER_AGENTS" ]; then
        jq -e --arg top "$TOP" '(.candidates[] | select(.cgroup == ($top + "/agent.service")) | .reason) == "protected: cgreapd runs here"' \
                "$TMP/explain.json" >/dev/null || fail "explain: the agent's cgroup is not protected: $(cat "$TMP/explain.json")"
fi
pass "explain --level critical picks app-firefox-1.scope and says why not the others"

# Medium inside batch.slice: job-b (750) dies, job-a (400) is under the floor.
ctl explain --level medium "$TOP/batch.slice" > "$TMP/explain.txt" || fail "explain medium failed"
cat "$TMP/explain.txt"
grep -q "^Victim: $TOP/batch.slice/job-b.service\$" "$TMP/explain.txt" || fail "explain medium: wrong victim"
grep -q "400 *$TOP/batch.slice/job-a.service: below the floor: adj 400 < 500" "$TMP/explain.txt" ||
        fail "explain medium: job-a's reason missing"
pass "explain --level medium picks job-b.service and puts job-a.service below the floor"

# Medium inside web.slice: nothing reaches 500. Not an error.
ctl explain --level medium "$TOP/web.slice" > "$TMP/none.txt" || fail "explain with nothing eligible must exit 0"
grep -q "Nothing is eligible" "$TMP/none.txt" || fail "explain: does not say nothing is eligible: $(cat "$TMP/none.txt")"
grep -q "site.service: below the floor: adj 450 < 500" "$TMP/none.txt" || fail "explain: site.service reason missing: $(cat "$TMP/none.txt")"
ctl explain --json --level medium "$TOP/web.slice" | jq -e '.victim == null' >/dev/null || fail "explain --json: victim must be null"
pass "explain says when nothing is eligible and exits 0"

# ---- names JSON must escape ----
spawn_in $'odd.slice/we"ird\\\tname.service'
spawn_in $'odd.slice/bad\xff.service'
ctl list --json "$TOP/odd.slice" > "$TMP/odd.json" || fail "list --json of odd names failed"
jq -e --arg top "$TOP" '[.[].cgroup] | sort == [($top + "/odd.slice/bad\ufffd.service"), ($top + "/odd.slice/we\"ird\\\tname.service")]' \
        "$TMP/odd.json" >/dev/null || fail "list --json: names not escaped: $(cat "$TMP/odd.json")"
pass "list --json escapes quotes, backslashes, control bytes and invalid UTF-8"

# ---- errors ----
BROKEN=$TMP/broken
cp -r "$ROOT" "$BROKEN"
printf '[Kill]\nDefaultAdj=5\nFoo=bar\n' > "$BROKEN$CONF_DIR/cgreap.conf.d/60-broken.conf"
set +e
"$CGREAPCTL" --root="$BROKEN" check-config > "$TMP/broken.out" 2> "$TMP/broken.err"
rc=$?
set -e
[ "$rc" = 1 ] || fail "check-config on a broken drop-in exited $rc, not 1"
"$CGREAPCTL" --root="$BROKEN" check-config --json > "$TMP/broken.json" 2>/dev/null && fail "check-config --json on a broken drop-in exited 0"
jq -e '.valid == false and (.errors | length) == 1 and (.errors[0] | test("/60-broken.conf:3: "))' "$TMP/broken.json" >/dev/null ||
        fail "check-config --json: no valid=false with the error: $(cat "$TMP/broken.json")"
grep -q "^$BROKEN$CONF_DIR/cgreap.conf.d/60-broken.conf:3: " "$TMP/broken.err" ||
        fail "check-config: no 'path:line:' for the broken key: $(cat "$TMP/broken.err")"
set +e
"$CGREAPCTL" --root="$BROKEN" list "$TOP" >/dev/null 2>&1; rc_list=$?
"$CGREAPCTL" frobnicate >/dev/null 2>&1; rc_usage=$?
"$CGREAPCTL" --level=severe explain >/dev/null 2>&1; rc_level=$?
"$CGREAPCTL" --root="$ROOT" list "$TOP/no-such.slice" >/dev/null 2>&1; rc_missing=$?
set -e
[ "$rc_list" = 1 ] || fail "list with an invalid config exited $rc_list, not 1"
[ "$rc_usage" = 2 ] || fail "an unknown command exited $rc_usage, not 2"
[ "$rc_level" = 2 ] || fail "a bad --level exited $rc_level, not 2"
[ "$rc_missing" = 1 ] || fail "list of a missing cgroup exited $rc_missing, not 1"
pass "errors: path:line: and exit codes 1 and 2"
