#!/bin/bash
# vmtest-timeout: 240
# State that must survive what happens to the agent, with the installed unit:
# - MemoryHighGuard= after a crash: systemd restarts a SIGKILLed cgreapd,
#   the new process takes the memory.high it finds for its own guard, and
#   restores max when it stops;
# - DryRun=yes writes nothing: a reload into a dry run puts memory.high back
#   to max, and the guard returns when the dry run ends;
# - Conflicts=systemd-oomd.service: a lingering user's user@UID.service,
#   which wants systemd-oomd (ManagedOOMMemoryPressure=kill from the
#   systemd-oomd package), does not start it beside cgreapd; an explicit
#   start of systemd-oomd stops cgreapd, and starting cgreapd stops it.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
scenario_begin "robust state: the guard after a crash, DryRun= writes nothing, no systemd-oomd beside cgreapd"
require "cgreapd is active" is_active cgreapd.service
main_pid() { unit_prop cgreapd.service MainPID; }
# Deliberate restarts: scenario_end compares against the last process.
accept_restart() {
	VMT_CGREAPD_PID=$(main_pid)
	VMT_CGREAPD_RESTARTS=$(unit_prop cgreapd.service NRestarts)
}
# shellcheck disable=SC2317  # called through wait_until
restarted_from() { is_active cgreapd.service && [ "$(main_pid)" != "$1" ] && [ "$(main_pid)" != 0 ]; }

vmt_slice vmt-s15.slice MemoryMax=300M
sp=$(unit_cgroup vmt-s15.slice)
vmt_dropin 90-s15 >/dev/null <<CONF
$SYSTEM_MONITOR_QUIET

[Monitor s15]
Cgroup=$sp
MemoryHighGuard=5%
CONF
cgreapd_reload || bad "cgreapd did not log the reload"
guard=$(guard_value $((300 << 20)) 5)
wait_until 15 cg_file_near "$sp" memory.high "$guard" || true
expect_range "memory.high set by MemoryHighGuard=5%" $((guard - 8192)) $((guard + 8192)) "$(cg_file "$sp" memory.high)"
high=$(cg_file "$sp" memory.high)

# ---- the guard after a crash ----
pid=$(main_pid)
c=$(jcursor)
systemctl kill -s KILL --kill-who=main cgreapd.service
wait_until 30 restarted_from "$pid" || bad "systemd did not restart cgreapd after SIGKILL"
accept_restart
wait_until 15 cgreapd_logged "$c" "memory.high of $sp is $high, MemoryHighGuard='s own value; taking it over" ||
	bad "the restarted cgreapd did not take memory.high=$high for its guard"
expect_eq "memory.high after the restart" "$high" "$(cg_file "$sp" memory.high)"
systemctl stop cgreapd.service
expect_eq "memory.high once the restarted cgreapd stopped" max "$(cg_file "$sp" memory.high)"
systemctl start cgreapd.service
accept_restart
wait_until 15 cg_file_is "$sp" memory.high "$high" || bad "guard not set again after a start"

# ---- DryRun=yes writes nothing ----
dry=$(vmt_dropin 91-s15-dry <<CONF
[Agent]
DryRun=yes
CONF
)
c=$(jcursor)
cgreapd_reload || bad "cgreapd did not log the reload into a dry run"
wait_until 10 cg_file_is "$sp" memory.high max || true
expect_eq "memory.high in a dry run" max "$(cg_file "$sp" memory.high)"
if cgreapd_logged "$c" "dry run, MemoryHighGuard= leaves memory.high of $sp alone"; then
	ok "cgreapd says that the dry run leaves memory.high alone"
else
	bad "no word that the dry run leaves memory.high alone"
fi
rm -f "$dry"
cgreapd_reload || bad "cgreapd did not log the reload out of the dry run"
wait_until 15 cg_file_is "$sp" memory.high "$high" || bad "guard not back after the dry run ended"

# ---- two agents ----
expect_eq "cgreapd's Conflicts=" systemd-oomd.service \
	"$(unit_prop cgreapd.service Conflicts | tr ' ' '\n' | grep -x systemd-oomd.service)"
pid=$(main_pid)
require "a lingering user (user@UID.service active)" vmt_user vmt15
expect_eq "user@$VMT_UID.service wants systemd-oomd.service" systemd-oomd.service \
	"$(unit_prop "user@$VMT_UID.service" Wants | tr ' ' '\n' | grep -x systemd-oomd.service)"
sleep 2
expect_eq "systemd-oomd beside cgreapd after the user's manager started" inactive \
	"$(unit_prop systemd-oomd.service ActiveState)"
expect_eq "cgreapd after the user's manager started" "$pid" "$(main_pid)"
systemctl start systemd-oomd.service
expect_eq "cgreapd once systemd-oomd was started by hand" inactive "$(unit_prop cgreapd.service ActiveState)"
systemctl start cgreapd.service
expect_eq "systemd-oomd once cgreapd was started again" inactive "$(unit_prop systemd-oomd.service ActiveState)"
expect_alive cgreapd.service
accept_restart

scenario_end
