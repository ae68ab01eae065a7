#!/bin/bash
# vmtest-timeout: 300
# vmtest-needs: deb
# vmtest-install: package
# The demo (contrib/demo.sh): one memory-pressure episode on a 2 GiB machine
# without swap, told as it happens. cgreap comes from its Debian package
# (apt install ./cgreap_*.deb), as users get it. A database (protected by a
# cgreap rule), a batch job (OOMScoreAdjust=800) and a web app (a rule gives
# it 100) hold memory; then a leaking app (OOMScoreAdjust=300) grows without
# bound. cgreap kills the batch job first (highest adj), then the leak; the
# database and the web app live, and the kernel OOM killer never fires.
# shellcheck source=../scenarios/lib.sh
. "$(dirname "$0")/lib.sh"
scenario_begin "demo: one memory-pressure episode"
summary=${VMT_RESULTS:-/tmp}/demo-summary.txt
hr() { printf '%s\n' "--------------------------------------------------------------------------"; }
title() { echo; hr; echo "  $*"; hr; }
mb() { echo "$(($1 >> 20))M"; }
meminfo() { awk -v k="$1:" '$1 == k { print $2 * 1024 }' /proc/meminfo; }
# The timeline samples every 250 ms; under TCG every fork costs, so these
# read with shell builtins only. sample sets S_T (us), S_AVAIL (bytes),
# S_SOME/S_FULL (us of stall so far, /proc/pressure/memory) and S_LEAK.
sample() {
	local k v rest
	S_T=${EPOCHREALTIME/./}
	while read -r k v rest; do
		[ "$k" = MemAvailable: ] && { S_AVAIL=$((v * 1024)); break; }
	done </proc/meminfo
	while read -r k _ _ _ v; do
		case $k in some) S_SOME=${v#total=} ;; full) S_FULL=${v#total=} ;; esac
	done </proc/pressure/memory
	S_LEAK=0
	[ -r "$CG/vmt.slice/vmt-demo-leak.service/memory.current" ] &&
		read -r S_LEAK 2>/dev/null <"$CG/vmt.slice/vmt-demo-leak.service/memory.current"
	return 0
}
populated() {
	local f=$CG/vmt.slice/$1/cgroup.events k v
	[ -r "$f" ] || return 1
	while read -r k v; do [ "$k" = populated ] && [ "$v" = 1 ] && return 0; done 2>/dev/null <"$f"
	return 1
}

payload=$(cd "$(dirname "$0")/.." && pwd)
debs=("$payload"/cgreap_*.deb)
deb=/tmp/${debs[0]##*/}
title "1. Installing cgreap from its Debian package"
# A copy _apt can read (else apt notes that it fetches it unsandboxed).
cp "${debs[0]}" "$deb" && chmod 644 "$deb"
echo "        # apt install ./${deb##*/}"
(cd /tmp && DEBIAN_FRONTEND=noninteractive apt install -y "./${deb##*/}" 2>&1) |
	grep -E '^(Unpacking|Setting up|Created symlink|Processing triggers)' | indent
wait_until 30 is_active cgreapd.service || true
require "cgreapd is active" is_active cgreapd.service
VMT_CGREAPD_PID=$(systemctl show -p MainPID --value cgreapd)
VMT_CGREAPD_RESTARTS=$(systemctl show -p NRestarts --value cgreapd)
echo
echo "        # systemctl status cgreapd"
systemctl --no-pager status cgreapd | sed -n '1,/CGroup:/p' | grep -v CGroup: | indent

total=$(meminfo MemTotal)
title "2. The machine: $(mb "$total") of memory, $( [ "$(meminfo SwapTotal)" = 0 ] && echo "no swap" || echo "$(mb "$(meminfo SwapTotal)") swap"); the priorities"
vmt_dropin 50-demo >/dev/null <<'CONF'
# /etc/cgreap/cgreap.conf.d/50-demo-vmtest.conf
[Priority]
vmt-demo-database.service = -800
vmt-demo-webapp.service = 100
CONF
cgreapd_reload >/dev/null || true
grep -v '^#' "$CONF_D/50-demo-vmtest.conf" | indent
echo "        + vmt-demo-batch.service runs with OOMScoreAdjust=800"
echo "        + vmt-demo-leak.service  runs with OOMScoreAdjust=300"
vmt_hold vmt-demo-database 300M --slice=vmt.slice
vmt_hold vmt-demo-batch 250M --slice=vmt.slice -p OOMScoreAdjust=800
vmt_hold vmt-demo-webapp 200M --slice=vmt.slice
for u in database batch webapp; do wait_mem "vmt-demo-$u.service" $((190 << 20)) 90 >/dev/null; done

title "3. The kill order before the episode: cgreapctl list /vmt.slice"
cgreapctl list /vmt.slice | indent
title "4. Who would die now, and why not the others: cgreapctl explain --level critical /vmt.slice"
# The mount line was in section 3 already.
cgreapctl explain --level critical /vmt.slice | grep -v '^cgroup2 mount ' | indent

minavail=$(cgreapctl check-config | sed -n 's/^MinAvailable=\([0-9]*\).*%.*/\1/p' | head -n 1)
floor=$((total * ${minavail:-2} / 100))
title "5. The episode: a leaking app grows to 1.5G ($(mb "$(mem_available)") available)"
echo "        It is sampled every 250 ms (plus the time a sample takes): a row every fourth"
echo "        sample, and one the moment each victim's cgroup empties. stall: the share of"
echo "        the time since the last row in which some (full: all) tasks waited for memory,"
echo "        from /proc/pressure/memory. cgreap treats less than MinAvailable=${minavail:-2}%"
echo "        ($(mb "$floor")) available as critical."
echo
printf '        %7s  %-7s %-11s %-10s %-10s %s\n' time leak available "stall some" full event
oom0=$(oom_kills)
c=$(jcursor)
t0=${EPOCHREALTIME/./}
vmt_grow vmt-demo-leak 1500M --slice=vmt.slice -p OOMScoreAdjust=300
declare -A killed_at evidence
sample
r_t=$S_T r_some=$S_SOME r_full=$S_FULL          # at the last row
# row EVENT: the newest sample, stall since the last row.
row() {
	local el=$((S_T - t0)) dt=$((S_T - r_t > 0 ? S_T - r_t : 1))
	printf '        %3d.%02ds  %-7s %-11s %-10s %-10s %s\n' $((el / 1000000)) $((el % 1000000 / 10000)) \
		"$((S_LEAK >> 20))M" "$((S_AVAIL >> 20))M" "$((100 * (S_SOME - r_some) / dt))%" \
		"$((100 * (S_FULL - r_full) / dt))%" "$1"
	r_t=$S_T r_some=$S_SOME r_full=$S_FULL
}
for i in $(seq 1 480); do
	# The sample before this one is the machine as cgreap last saw it alive.
	p_avail=$S_AVAIL p_t=$S_T p_some=$S_SOME p_full=$S_FULL
	sample
	for u in batch leak; do
		if [ -n "${killed_at[$u]:-}" ] || populated "vmt-demo-$u.service"; then continue; fi
		row "<- vmt-demo-$u.service killed"
		killed_at[$u]=1
		dt=$((S_T - p_t > 0 ? S_T - p_t : 1))
		evidence[$u]="available $((p_avail >> 20))M of $(mb "$total") (MinAvailable $(mb "$floor")), no swap; stall $((100 * (S_SOME - p_some) / dt))% some, $((100 * (S_FULL - p_full) / dt))% full over the 250 ms around the kill"
	done
	[ -n "${killed_at[leak]:-}" ] && break
	[ $((i % 4)) = 0 ] && row ""
	sleep 0.25
done
wait_until 15 has_records "$MSGID_RECLAIMED" "$c" CGREAP_UNIT=vmt-demo-leak.service || true
sleep 1

title "6. Why cgreap killed: each kill record, and what the machine showed at that moment"
records "$MSGID_KILL" "$c" | while read -r k; do
	u=$(field "$k" CGREAP_UNIT)
	short=${u#vmt-demo-}
	short=${short%.service}
	printf '        %6.2fs  %s (adj %s from %s, held %s)\n' \
		"$(awk -v a="$t0" -v b="$(record_usec "$k")" 'BEGIN { print (b - a) / 1e6 }')" "$u" \
		"$(field "$k" CGREAP_ADJ)" "$(field "$k" CGREAP_ADJ_SOURCE)" "$(mb "$(nfield "$k" CGREAP_MEMORY_BYTES)")"
	echo "                 decision: $(field "$k" CGREAP_REASON), trigger $(field "$k" CGREAP_TRIGGER)"
	ev=$(field "$k" CGREAP_EVIDENCE)
	[ -n "$ev" ] && echo "                 evidence (CGREAP_EVIDENCE): $ev"
	echo "                 the last sample before it: ${evidence[$short]:-none}"
done

title "7. What cgreap wrote to the journal: journalctl -u cgreapd"
journalctl -q --no-pager -o short-precise --since "@$((t0 / 1000000))" -u cgreapd.service | indent
echo
echo "        # journalctl -u vmt-demo-batch.service"
journalctl -q --no-pager -o short-precise -u vmt-demo-batch.service | tail -n 5 | indent
echo
echo "        # journalctl -o verbose CGREAP_KILL_ID=...  (the first reclaimed record's fields)"
first=$(first_record "$MSGID_RECLAIMED" "$c")
show_record "$first"

title "8. Who survived"
for u in database webapp batch leak; do
	if is_active "vmt-demo-$u.service"; then
		printf '        %-28s %s\n' "vmt-demo-$u.service" "running, holds $(mb "$(unit_mem "vmt-demo-$u.service")")"
	else
		printf '        %-28s %s\n' "vmt-demo-$u.service" "$(unit_end "vmt-demo-$u.service")"
	fi
done

# The numbers, from the records.
{
	echo "cgreap demo: one memory-pressure episode in a Debian 12 guest (2 CPUs, 2 GiB, no swap),"
	echo "cgreap installed from its Debian package"
	echo
	printf '  %-26s %5s  %-18s %9s %8s %8s %9s\n' "killed, in order" "adj" "adj from" "after" "freed" "emptied" "mrelease"
	records "$MSGID_KILL" "$c" | while read -r k; do
		id=$(field "$k" CGREAP_KILL_ID)
		r=$(wait_record "$MSGID_RECLAIMED" "$c" CGREAP_KILL_ID="$id")
		printf '  %-26s %5s  %-18s %7dms %7dM %6dms %9s\n' "$(field "$k" CGREAP_UNIT)" "$(field "$k" CGREAP_ADJ)" \
			"$(field "$k" CGREAP_ADJ_SOURCE)" $((($(record_usec "$k") - t0) / 1000)) \
			$(($(nfield "$r" CGREAP_FREED_BYTES) >> 20)) $(($(nfield "$r" CGREAP_EMPTY_USEC) / 1000)) \
			"$(field "$r" CGREAP_MRELEASE)"
	done
	echo "  (after: from the leak's start to the kill; emptied: from the kill to an empty cgroup;"
	echo "   mrelease yes: process_mrelease() freed the memory at once, no: the victim was already"
	echo "   exiting and freeing it itself)"
	echo
	for u in database webapp; do
		printf '  survived: %-26s %s\n' "vmt-demo-$u.service" "$(unit_prop "vmt-demo-$u.service" ActiveState)"
	done
	echo "  kernel OOM killer kills during the episode: $(($(oom_kills) - oom0))"
	echo "  kill method: $(field "$first" CGREAP_METHOD)"
} >"$summary"
title "9. Summary"
indent <"$summary"

expect_killed vmt-demo-batch.service
expect_killed vmt-demo-leak.service
expect_alive vmt-demo-database.service
expect_alive vmt-demo-webapp.service
expect_eq "kernel OOM kills" "$oom0" "$(oom_kills)"
rm -f "$deb"
scenario_end
