#!/bin/bash
# vmtest-timeout: 240
# State that must survive what happens to the agent, with the installed unit:
# - MemoryHighGuard= after a crash: systemd restarts a SIGKILLed cgreapd,
#   the new process takes the memory.high it finds for its own guard, and
#   restores max when it stops;
# - DryRun=yes writes nothing: a reload into a dry run puts memory.high back
#   to max, and the guard returns when the dry run ends;
# - two agents: a lingering user's user@UID.service wants systemd-oomd
#   (ManagedOOMMemoryPressure=kill from the systemd-oomd package), so a
#   login starts it beside cgreapd (which runs on: the unit names no
#   conflict, see DESIGN-NOTES.md); masked as the README says, a login
#   starts it no more.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
scenario_begin "robust state: the guard after a crash, DryRun= writes nothing, systemd-oomd masked as the README says"
require "cgreapd is active" is_active cgreapd.service
main_pid() { unit_prop cgreapd.service MainPID; }
# Deliberate restarts: scenario_end compares against the last process.
accept_restart() {
	VMT_CGREAPD_PID=$(main_pid)
	VMT_CGREAPD_RESTARTS=$(unit_prop cgreapd.service NRestarts)
}
# shellcheck disable=SC2317  # called through wait_until
restarted_from() { is_active cgreapd.service && [ "$(main_pid)" != "$1" ] && [ "$(main_pid)" != 0 ]; }
# shellcheck disable=SC2317  # called through wait_until
oomd_state() { unit_prop systemd-oomd.service ActiveState; }
# shellcheck disable=SC2317  # called through wait_until
oomd_active() { [ "$(oomd_state)" = active ]; }

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
pid=$(main_pid)
require "a lingering user (user@UID.service active)" vmt_user vmt15a
expect_eq "user@$VMT_UID.service wants systemd-oomd.service" systemd-oomd.service \
	"$(unit_prop "user@$VMT_UID.service" Wants | tr ' ' '\n' | grep -x systemd-oomd.service)"
wait_until 15 oomd_active || true
expect_eq "systemd-oomd after a login, not masked (the README's warning)" active "$(oomd_state)"
expect_eq "cgreapd after that login" "$pid" "$(main_pid)"
VMT_FILES+=(/etc/systemd/system/systemd-oomd.service /etc/systemd/system/systemd-oomd.socket)
systemctl mask --now systemd-oomd.service systemd-oomd.socket
expect_eq "systemd-oomd once masked" inactive "$(oomd_state)"
require "a second lingering user" vmt_user vmt15b
sleep 3
expect_eq "systemd-oomd after a login, masked" inactive "$(oomd_state)"
expect_eq "cgreapd after that login" "$pid" "$(main_pid)"

scenario_end
