#!/bin/bash
# vmtest-timeout: 120
# cgreapctl metrics: the Prometheus text parses (a strict parser here: the
# guest has no promtool; tests/live-bus.sh runs promtool on the host), and
# the daemon's counters match its journal records since it started (this
# invocation of cgreapd.service), after a manual kill of this scenario's
# own and whatever kills earlier scenarios of this boot made.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
scenario_begin "cgreapctl metrics: valid Prometheus text, counters as in the journal"
require "cgreapd is active" is_active cgreapd.service

vmt_service vmt-s17-victim -- sleep 100000
wait_until 10 is_active vmt-s17-victim.service || bad "vmt-s17-victim did not start"
c=$(jcursor)
cgreapctl kill vmt-s17-victim.service | indent
wait_until 15 is_dead vmt-s17-victim.service || bad "vmt-s17-victim still runs after the manual kill"
rec=$(wait_record "$MSGID_RECLAIMED" "$c" CGREAP_UNIT=vmt-s17-victim.service)
[ -n "$rec" ] || bad "no reclaimed record for the manual kill"

M=$(mktemp)
cgreapctl metrics >"$M" || bad "cgreapctl metrics failed"

# A strict reader of the text format 0.0.4 as cgreapctl writes it: every
# line HELP, TYPE or a sample of a declared family; values are numbers;
# histogram buckets are cumulative, end with +Inf and +Inf equals _count.
parse_errors=$(awk '
function fail(msg) { print NR ": " msg ": " $0; bad++ }
/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+$/ { next }
/^# TYPE / {
	if (NF != 4 || $3 !~ /^[a-zA-Z_:][a-zA-Z0-9_:]*$/ || $4 !~ /^(counter|gauge|histogram)$/) { fail("bad TYPE"); next }
	if ($3 in type) fail("family declared twice")
	type[$3] = $4; last = -1; inf = ""; next
}
/^#/ { fail("unknown comment"); next }
{
	if (NF != 2) { fail("not NAME VALUE"); next }
	if ($2 !~ /^(-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|\+Inf|-Inf|NaN)$/) { fail("bad value"); next }
	name = $1; labels = ""
	if (index(name, "{")) {
		labels = substr(name, index(name, "{")); name = substr(name, 1, index(name, "{") - 1)
		if (labels !~ /^\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\}$/) { fail("bad labels"); next }
	}
	fam = name
	if (!(fam in type)) { sub(/_(bucket|sum|count)$/, "", fam) }
	if (!(fam in type)) { fail("sample of an undeclared family"); next }
	if (type[fam] == "histogram") {
		if (name == fam "_bucket") {
			if ($2 + 0 < last) fail("bucket not cumulative")
			last = $2 + 0
			if (labels == "{le=\"+Inf\"}") inf = $2
		} else if (name == fam "_count") {
			if (inf == "") fail("no +Inf bucket before _count")
			else if (inf != $2) fail("+Inf bucket " inf " is not _count")
		} else if (name != fam "_sum") fail("not a histogram sample")
	} else if (name != fam || labels != "") fail("sample name differs from its family")
	value[name] = $2
}
END { exit bad > 0 }' "$M")
check "cgreapctl metrics parses as Prometheus text ($(grep -c -v '^#' "$M") samples)" test -z "$parse_errors"
[ -z "$parse_errors" ] || echo "$parse_errors" | indent
grep -v '^#' "$M" | grep -v '_bucket' | indent

metric() { awk -v n="$1" '$1 == n { print $2 }' "$M"; }
inv=$(systemctl show -p InvocationID --value cgreapd)
recs() { journalctl -q --no-pager -o json _SYSTEMD_INVOCATION_ID="$inv" MESSAGE_ID="$1"; }
kills=$(recs "$MSGID_KILL" | jq -s '[.[] | select(.CGREAP_DRY_RUN == "0")] | length')
freed=$(recs "$MSGID_RECLAIMED" | jq -s '[.[] | .CGREAP_FREED_BYTES | tonumber] | add // 0')
timeouts=$(recs "$MSGID_RECLAIMED" | jq -s '[.[] | select(.CGREAP_TIMED_OUT == "1")] | length')
reclaimed=$(recs "$MSGID_RECLAIMED" | jq -s '[.[] | select(.CGREAP_TIMED_OUT == "0")] | length')
say "journal of this cgreapd: $kills kills, $reclaimed reclaimed, $timeouts timed out, $freed bytes freed"
expect_range "kills, at least this scenario's" 1 "" "$kills"
expect_eq "cgreap_kills_total = kill records" "$kills" "$(metric cgreap_kills_total)"
expect_eq "cgreap_kill_latency_seconds_count = kill records" "$kills" "$(metric cgreap_kill_latency_seconds_count)"
expect_eq "cgreap_freed_bytes_total = sum of CGREAP_FREED_BYTES" "$freed" "$(metric cgreap_freed_bytes_total)"
expect_eq "cgreap_kill_timeouts_total = records with TIMED_OUT=1" "$timeouts" "$(metric cgreap_kill_timeouts_total)"
expect_eq "cgreap_reclaim_seconds_count = records with TIMED_OUT=0" "$reclaimed" "$(metric cgreap_reclaim_seconds_count)"
expect_eq "cgreap_dry_run" 0 "$(metric cgreap_dry_run)"

rm -f "$M"
scenario_end
