#!/bin/bash
# vmtest-timeout: 240
# cgreapctl metrics and MetricsFile=: the Prometheus text passes 'promtool
# check metrics' (package prometheus), and the daemon's counters match its
# journal records since it started (this invocation of cgreapd.service),
# after a manual kill of this scenario's own and whatever kills earlier
# scenarios of this boot made. Then the shipped unit drop-in
# (examples/cgreapd.service.d/60-metrics-file.conf) and MetricsFile= in
# node_exporter's textfile directory: the exposure stays at most 1.4, the
# file is written at start, not rewritten while calm however many cgroups
# come and go, and after a kill replaced by rename (a reader of the old
# file still has all of it, no temporary file left) with what cgreapctl metrics prints.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
scenario_begin "cgreapctl metrics: valid Prometheus text, counters as in the journal"
require "cgreapd is active" is_active cgreapd.service

vmt_service vmt-s17-victim -- sleep 100000
wait_until 10 is_active vmt-s17-victim.service || bad "vmt-s17-victim did not start"
manual_kill vmt-s17-victim.service
wait_until 15 is_dead vmt-s17-victim.service || bad "vmt-s17-victim still runs after the manual kill"

M=$(mktemp)
cgreapctl metrics >"$M" || bad "cgreapctl metrics failed"
# promcheck WHAT FILE: promtool accepts FILE as Prometheus text.
promcheck() {
	local out
	if out=$(promtool check metrics <"$2" 2>&1); then ok "promtool check metrics accepts $1"; else bad "promtool check metrics rejects $1: $out"; fi
}
promcheck "cgreapctl metrics ($(grep -c -v '^#' "$M") samples)" "$M"
grep -v '^#' "$M" | grep -v '_bucket' | indent

# metric NAME [FILE]: a sample's value.
metric() { awk -v n="$1" '$1 == n { print $2 }' "${2:-$M}"; }
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


# ---- MetricsFile= for node_exporter, through the shipped unit drop-in ----
dir=/var/lib/prometheus/node-exporter prom=/var/lib/prometheus/node-exporter/cgreap.prom
# ReadWritePaths= needs the directory (prometheus-node-exporter makes it).
mkdir -p "$dir"
mkdir -p /etc/systemd/system/cgreapd.service.d
unitdropin=/etc/systemd/system/cgreapd.service.d/60-metrics-file.conf
cp /usr/share/doc/cgreap/examples/cgreapd.service.d/60-metrics-file.conf "$unitdropin"
VMT_FILES+=("$unitdropin")
printf '[Agent]\nMetricsFile=%s\n' "$prom" | vmt_dropin 60-metrics >/dev/null
require "cgreapd restarted with the drop-in and MetricsFile=" cgreapd_restart
exposure=$(systemd-analyze security cgreapd.service 2>&1 |
	sed -n 's/.*Overall exposure level for cgreapd.service: \([0-9.]*\).*/\1/p')
check "systemd-analyze security with the drop-in: exposure ${exposure:-none} <= 1.4" \
	awk -v s="${exposure:-99}" 'BEGIN { exit !(s <= 1.4) }'
require "MetricsFile= written at start" wait_until 15 test -s "$prom"
promcheck "MetricsFile= at start" "$prom"
expect_eq "MetricsFile= mode (node_exporter runs as another user)" 644 "$(stat -c %a "$prom")"
expect_eq "cgreap_kills_total at start" 0 "$(metric cgreap_kills_total "$prom")"

# Calm: cgroups come and go (the daemon follows each), the file stays as it is.
before=$(stat -c '%i %Y.%y' "$prom")
for i in 1 2 3 4 5; do vmt_service "vmt-s17-calm-$i" -- sleep 1; done
sleep 5
expect_eq "MetricsFile= while calm, after 5 services came and went: inode and mtime" "$before" "$(stat -c '%i %Y.%y' "$prom")"

# A reader that opened the file before the kill (as node_exporter may be
# doing) keeps the whole old text: the new one came by rename, not in place.
exec 3<"$prom"
old=$(cat "$prom")
vmt_service vmt-s17-textfile -- sleep 100000
wait_until 10 is_active vmt-s17-textfile.service || bad "vmt-s17-textfile did not start"
manual_kill vmt-s17-textfile.service
written() { [ "$(metric cgreap_reclaim_seconds_count "$prom")" = 1 ]; }
wait_until 15 written || bad "MetricsFile= does not count the reclaimed kill: $(grep -v '^#' "$prom")"
cgreapctl metrics >"$M" || bad "cgreapctl metrics failed"
promcheck "MetricsFile= after the kill" "$prom"
expect_eq "MetricsFile= differs from cgreapctl metrics by" "" "$(diff "$M" "$prom")"
expect_eq "cgreap_kills_total in MetricsFile=" 1 "$(metric cgreap_kills_total "$prom")"
expect_eq "cgreap_freed_bytes_total in MetricsFile= = the record's FREED_BYTES" \
	"$(field "$KILL_REC" CGREAP_FREED_BYTES)" "$(metric cgreap_freed_bytes_total "$prom")"
expect_eq "MetricsFile= as read through a descriptor opened before the kill differs from the start text by" "" \
	"$(diff <(echo "$old") <(cat <&3))"
expect_eq "links of the file opened before the kill (renamed over)" 0 "$(stat -L -c %h /proc/self/fd/3)"
exec 3<&-
expect_eq "files in $dir (no temporary file left)" cgreap.prom "$(ls -A "$dir")"

# Back to the shipped unit for the scenarios after this one.
rm -f "$unitdropin" "$CONF_D/60-metrics-vmtest.conf" "$prom"
cgreapd_restart || bad "cgreapd did not restart without the drop-in"
rm -f "$M"
scenario_end
