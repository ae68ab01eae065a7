#!/bin/bash
# vmtest-timeout: 300
# Whole-machine pressure (2 GiB guest, no swap): three services hold 200M
# each, with an adj from three different sources, and a hog grows past what
# the machine has. The highest-adj eligible service dies first (not the
# biggest), then the hog; the rule-priority service and the protected one
# live; the kernel OOM killer never fires; the journal tells the story.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
scenario_begin "global pressure: priorities respected, protected units live, no kernel OOM kill"
require "cgreapd is active" is_active cgreapd.service

# adj 300 from a cgreap drop-in rule; 800 from the unit's OOMScoreAdjust=;
# -1000 from ManagedOOMPreference=omit (systemd writes user.oomd_omit on the
# cgroup even without systemd-oomd); the hog gets 500 from OOMScoreAdjust=.
dropin=$(vmt_dropin 90-s2 <<'CONF'
[Priority]
vmt-s2-rule.service = 300
CONF
)
cgreapd_reload || bad "cgreapd did not log the reload"

vmt_hold vmt-s2-rule 200M --slice=vmt.slice
vmt_hold vmt-s2-oomadj 200M --slice=vmt.slice -p OOMScoreAdjust=800
vmt_hold vmt-s2-omit 200M --slice=vmt.slice -p ManagedOOMPreference=omit
for u in vmt-s2-rule vmt-s2-oomadj vmt-s2-omit; do
	wait_mem "$u.service" $((190 << 20)) 90
done
expect_eq "user.oomd_omit on vmt-s2-omit.service" 1 \
	"$(getfattr --absolute-names --only-values -n user.oomd_omit "$CG/vmt.slice/vmt-s2-omit.service" 2>&1)"
expect_eq "cgreapctl: vmt-s2-rule" "300 rule" "$(ctl_adj /vmt.slice/vmt-s2-rule.service)"
expect_eq "cgreapctl: vmt-s2-oomadj" "800 oom-score-adj" "$(ctl_adj /vmt.slice/vmt-s2-oomadj.service)"
expect_eq "cgreapctl: vmt-s2-omit" "-1000 xattr-omit" "$(ctl_adj /vmt.slice/vmt-s2-omit.service)"
say "MemAvailable before the hog: $(($(mem_available) >> 20))M; $dropin in place"

oom0=$(oom_kills)
c=$(jcursor)
t0=$(date +%s%6N)
vmt_grow vmt-s2-hog 1500M --slice=vmt.slice -p OOMScoreAdjust=500
# The hog cannot fit even after one 200M holder is gone: it must die too.
wait_until 150 is_dead vmt-s2-hog.service || bad "the hog still runs after 150s ($(($(unit_mem vmt-s2-hog.service) >> 20))M)"
wait_until 15 has_records "$MSGID_RECLAIMED" "$c" CGREAP_UNIT=vmt-s2-hog.service
sleep 2

say "kills, in order:"
records "$MSGID_KILL" "$c" | while read -r r; do describe_kill "$r" | indent; done
mapfile -t killed < <(killed_units "$c")
expect_eq "first victim (highest adj, not the biggest)" vmt-s2-oomadj.service "${killed[0]:-none}"
expect_eq "second victim" vmt-s2-hog.service "${killed[1]:-none}"
expect_eq "number of kills" 2 "${#killed[@]}"
expect_killed vmt-s2-oomadj.service
expect_killed vmt-s2-hog.service
expect_alive vmt-s2-rule.service
expect_alive vmt-s2-omit.service
expect_eq "kernel OOM kills (/proc/vmstat oom_kill)" "$oom0" "$(oom_kills)"
expect_eq "kernel-oom records" 0 "$(count_records "$MSGID_KERNEL_OOM" "$c")"

kill=$(wait_record "$MSGID_KILL" "$c" CGREAP_UNIT=vmt-s2-oomadj.service)
if [ -n "$kill" ]; then
	say "the kill record:"
	show_record "$kill"
	id=$(field "$kill" CGREAP_KILL_ID)
	expect_eq "ADJ" 800 "$(field "$kill" CGREAP_ADJ)"
	check "ADJ_SOURCE names oom_score_adj" grep -q -i 'oom' <<<"$(field "$kill" CGREAP_ADJ_SOURCE)"
	# No swap in the guest: the whole machine's memory running out is the row.
	expect_eq "REASON" low-memory-and-swap "$(field "$kill" CGREAP_REASON)"
	expect_eq "LEVEL" critical "$(field "$kill" CGREAP_LEVEL)"
	check "EVIDENCE gives MemAvailable below 2% and no swap" \
		grep -q -E 'MemAvailable [01]\.[0-9]+% .*no swap' <<<"$(field "$kill" CGREAP_EVIDENCE)"
	expect_eq "MONITOR" system "$(field "$kill" CGREAP_MONITOR)"
	expect_eq "MONITOR_CGROUP" / "$(field "$kill" CGREAP_MONITOR_CGROUP)"
	expect_eq "CGROUP" /vmt.slice/vmt-s2-oomadj.service "$(field "$kill" CGREAP_CGROUP)"
	expect_eq "DRY_RUN" 0 "$(field "$kill" CGREAP_DRY_RUN)"
	expect_eq "OBJECT_SYSTEMD_UNIT" vmt-s2-oomadj.service "$(field "$kill" OBJECT_SYSTEMD_UNIT)"
	expect_range "MEMORY_BYTES (MiB)" 190 260 $(($(nfield "$kill" CGREAP_MEMORY_BYTES) >> 20))

	rec=$(wait_record "$MSGID_RECLAIMED" "$c" CGREAP_KILL_ID="$id")
	if [ -n "$rec" ]; then
		say "the reclaimed record:"
		show_record "$rec"
		expect_all_fields "$rec" "reclaimed record"
		t_kill=$(record_usec "$kill")
		say "time from hog start to kill: $(((t_kill - t0) / 1000))ms;" \
			"freed $(($(nfield "$rec" CGREAP_FREED_BYTES) >> 20))M in $(($(nfield "$rec" CGREAP_EMPTY_USEC) / 1000))ms"
	else
		bad "no reclaimed record with CGREAP_KILL_ID=$id"
	fi

	# What an admin sees.
	check "journalctl -u vmt-s2-oomadj.service shows the kill record" unit_journal_has vmt-s2-oomadj.service "$MSGID_KILL"
	check "journalctl -u vmt-s2-oomadj.service shows the reclaimed record" unit_journal_has vmt-s2-oomadj.service "$MSGID_RECLAIMED"
	journalctl -q --no-pager -o short-precise -u vmt-s2-oomadj.service | grep -v stress-ng | indent
	subject=$(journalctl --dump-catalog "$MSGID_KILL" 2>/dev/null | sed -n 's/^Subject: //p' | head -n 1)
	expect_ne "catalog Subject of the kill record" "" "$subject"
	subject=${subject%%@*}
	check "journalctl -x shows the catalog text" unit_journal_x_shows vmt-s2-oomadj.service "$subject"
	journalctl -q -x --no-pager -u vmt-s2-oomadj.service | grep -A6 -F -- "$subject" | head -n 8 | indent
else
	bad "no kill record for vmt-s2-oomadj.service"
fi

scenario_end
