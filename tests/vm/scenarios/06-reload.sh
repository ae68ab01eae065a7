#!/bin/bash
# vmtest-timeout: 300
# systemctl reload cgreapd: a broken drop-in is refused with "path:line:" in
# the journal and the running configuration is kept (the next kill follows
# the old priorities); once fixed, the next kill follows the new ones.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
scenario_begin "reload: a broken drop-in keeps the old config, a fixed one takes effect"
require "cgreapd is active" is_active cgreapd.service

vmt_slice vmt-s6.slice MemoryMax=400M
sp=$(unit_cgroup vmt-s6.slice)
head="$SYSTEM_MONITOR_QUIET

[Monitor s6]
Cgroup=$sp
MemoryHighGuard=5%
"
# Old: b dies first. New: a dies first.
f=$(vmt_dropin 90-s6 <<CONF
$head
[Priority]
vmt-s6-a.service = 100
vmt-s6-b.service = 900
vmt-s6-b2.service = 100
vmt-s6-g*.service = -100
CONF
)
cgreapd_reload || bad "cgreapd did not log the reload"
pid=$(unit_prop cgreapd.service MainPID)

# The new priorities plus one bad line; its line number is what must be named.
new="$head
[Priority]
vmt-s6-a.service = 900
vmt-s6-b.service = 100
vmt-s6-b2.service = 100
vmt-s6-g*.service = -100"
printf '%s\n[Kill]\nBogusKey=1\n' "$new" >"$f"
line=$(grep -n '^BogusKey=' "$f" | cut -d: -f1)
c=$(jcursor)
systemctl reload cgreapd
if wait_until 20 cgreapd_logged "$c" "$f:$line:"; then
	ok "the journal names $f:$line:"
else
	bad "the journal does not name '$f:$line:'; cgreapd said:"
	cgreapd_log "$c" | indent
fi
cgreapd_log "$c" | indent
expect_eq "cgreapd after the broken reload" active "$(unit_prop cgreapd.service ActiveState)"
expect_eq "cgreapd MainPID after the broken reload" "$pid" "$(unit_prop cgreapd.service MainPID)"
out=$(cgreapctl check-config 2>&1 >/dev/null)
rc=$?
expect_eq "cgreapctl check-config exit status" 1 "$rc"
check "cgreapctl check-config names $f:$line:" grep -q -F "$f:$line:" <<<"$out"

# round GROWER VICTIM SURVIVOR WHAT: a grower pushes the slice over its guard
# while VICTIM and SURVIVOR hold 120M each; VICTIM must be the one killed.
round() {
	local c
	c=$(jcursor)
	vmt_grow "$1" 200M --slice=vmt-s6.slice
	wait_until 120 any_dead "$2.service" "$3.service" || bad "neither $2 nor $3 died within 120s"
	settle
	expect_eq "$4" "$2.service" "$(killed_list "$c")"
	expect_alive "$3.service"
	expect_alive "$1.service"
	systemctl stop "$1.service"
}

say "pressure with the broken file on disk: the old priorities must decide"
vmt_hold vmt-s6-a 120M --slice=vmt-s6.slice
vmt_hold vmt-s6-b 120M --slice=vmt-s6.slice
wait_mem vmt-s6-a.service $((115 << 20)) 60
wait_mem vmt-s6-b.service $((115 << 20)) 60
round vmt-s6-g1 vmt-s6-b vmt-s6-a "killed with the old config"

say "fixed drop-in"
echo "$new" >"$f"
c=$(jcursor)
cgreapd_reload || bad "cgreapd did not log the reload"
if cgreapd_logged "$c" "$f:[0-9]+:"; then bad "cgreapd still complains about $f"; fi
check "cgreapctl check-config" cgreapctl check-config >/dev/null
vmt_hold vmt-s6-b2 120M --slice=vmt-s6.slice
wait_mem vmt-s6-b2.service $((115 << 20)) 60
round vmt-s6-g2 vmt-s6-a vmt-s6-b2 "killed with the new config"

scenario_end
