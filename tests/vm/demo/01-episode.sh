#!/bin/bash
# vmtest-timeout: 300
# The demo (contrib/demo.sh): one memory-pressure episode on a 2 GiB machine
# without swap, told as it happens. A database (protected by a cgreap rule),
# a batch job (OOMScoreAdjust=800) and a web app (a rule gives it 100) hold
# memory; then a leaking app (OOMScoreAdjust=300) grows without bound.
# cgreap kills the batch job first (highest adj), then the leak; the
# database and the web app live, and the kernel OOM killer never fires.
# shellcheck source=../scenarios/lib.sh
. "$(dirname "$0")/lib.sh"
scenario_begin "demo: one memory-pressure episode"
summary=${VMT_RESULTS:-/tmp}/demo-summary.txt
hr() { printf '%s\n' "--------------------------------------------------------------------------"; }
title() { echo; hr; echo "  $*"; hr; }

require "cgreapd is active" is_active cgreapd.service
title "1. cgreapd runs, installed with 'make install' + 'systemctl enable --now cgreapd'"
systemctl --no-pager status cgreapd | sed -n '1,/CGroup:/p' | grep -v CGroup: | indent

title "2. The machine: $(($(awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo) >> 10))M of memory, no swap. Priorities:"
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

title "3. 'cgreapctl list /vmt.slice' before the episode"
cgreapctl list /vmt.slice | indent
echo
cgreapctl explain --level critical /vmt.slice | indent

title "4. A leaking app starts and grows to 1.5G (the machine has $(($(mem_available) >> 20))M available)"
oom0=$(oom_kills)
c=$(jcursor)
t0=$(date +%s%6N)
vmt_grow vmt-demo-leak 1500M --slice=vmt.slice -p OOMScoreAdjust=300
last=""
for _ in $(seq 1 300); do
	line="leak $(printf '%5d' $(($(unit_mem vmt-demo-leak.service) >> 20)))M   available $(printf '%5d' $(($(mem_available) >> 20)))M   $(awk '/^some/ { print "pressure some " $2 }' /proc/pressure/memory)"
	for u in batch leak; do is_dead "vmt-demo-$u.service" && line+="   [$u killed]"; done
	[ "$line" != "$last" ] && printf '        %6.1fs  %s\n' "$(awk -v a="$t0" -v b="$(date +%s%6N)" 'BEGIN { print (b - a) / 1e6 }')" "$line"
	last=$line
	is_dead vmt-demo-leak.service && break
	sleep 0.5
done
wait_until 15 has_records "$MSGID_RECLAIMED" "$c" CGREAP_UNIT=vmt-demo-leak.service || true
sleep 1

title "5. What cgreap wrote to the journal (journalctl -u cgreapd)"
journalctl -q --no-pager -o short-precise --since "@$((t0 / 1000000))" -u cgreapd.service | indent
echo
echo "        journalctl -u vmt-demo-batch.service:"
journalctl -q --no-pager -o short-precise -u vmt-demo-batch.service | tail -n 5 | indent
echo
echo "        The first reclaimed record's fields (journalctl -o verbose):"
first=$(first_record "$MSGID_RECLAIMED" "$c")
show_record "$first"

title "6. Who survived"
for u in database webapp batch leak; do
	if is_active "vmt-demo-$u.service"; then
		printf '        %-28s %s\n' "vmt-demo-$u.service" "running, holds $(($(unit_mem "vmt-demo-$u.service") >> 20))M"
	else
		printf '        %-28s %s\n' "vmt-demo-$u.service" "$(unit_end "vmt-demo-$u.service")"
	fi
done

# The numbers, from the records.
{
	echo "cgreap demo: one memory-pressure episode in a Debian 12 guest (2 CPUs, 2 GiB, no swap)"
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
title "7. Summary"
indent <"$summary"

expect_killed vmt-demo-batch.service
expect_killed vmt-demo-leak.service
expect_alive vmt-demo-database.service
expect_alive vmt-demo-webapp.service
expect_eq "kernel OOM kills" "$oom0" "$(oom_kills)"
scenario_end
