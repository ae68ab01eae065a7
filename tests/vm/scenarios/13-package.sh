#!/bin/bash
# vmtest-timeout: 300
# vmtest-needs: deb
# The Debian package as a user installs it: 'apt install ./cgreap_*.deb'
# (the guest has no network; the package's dependencies are in the image).
# The runner installed the 'make install' tar at boot: it goes first, so
# that only the package's own files are there to pass or fail (a file the
# package forgot would otherwise be found where the tar left it). Then:
# enabled and active, a real kill (an anonymous hog at a slice's MemoryMax,
# as in 03), 'apt remove' (stopped, config kept), 'apt purge' (config
# gone), and the tar install again for whatever runs next.
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
scenario_begin "the Debian package: install, enabled and active, a kill, remove, purge"
# The daemon is installed anew here: no "same process" check at the end.
VMT_CGREAPD_PID=0
payload=$(cd "$(dirname "$0")/.." && pwd)
debs=("$payload"/cgreap_*.deb)
deb=${debs[0]}
require "the payload has the .deb" test -f "$deb"
# A copy _apt can read: apt fetches local files unsandboxed otherwise (a notice).
cp "$deb" /tmp/ && chmod 644 "/tmp/${deb##*/}"
deb=/tmp/${deb##*/}

pkg_status() { dpkg-query -W -f '${Status}' cgreap 2>/dev/null; }
in_package() { dpkg-deb -c "$deb" | awk '{ print $6 }' | grep -qxF ".$1"; }
# apt's own chatter (no stable CLI, the database progress) left out of the log.
apt_log() { grep -v -e 'stable CLI interface' -e '^$' -e '^(Reading database' | indent; }
conffiles() { dpkg-query -W -f '${Conffiles}' cgreap 2>/dev/null | awk 'NF { print $1 }'; }
enabled_link=/etc/systemd/system/multi-user.target.wants/cgreapd.service

vmt_uninstall_tar "$payload" >/dev/null 2>&1
check "the make install copy is gone" test ! -e /usr/sbin/cgreapd
check "the catalog database no longer knows cgreap's records" not catalog_knows "$MSGID_KILL"

say "apt install $deb"
DEBIAN_FRONTEND=noninteractive apt install -y "$deb" 2>&1 | apt_log
expect_eq "dpkg status" "install ok installed" "$(pkg_status)"
expect_eq "cgreapd.service enabled" enabled "$(systemctl is-enabled cgreapd.service)"
wait_until 30 is_active cgreapd.service || true
expect_eq "cgreapd.service active" active "$(unit_prop cgreapd.service ActiveState)"
expect_eq "conffiles" /etc/cgreap/cgreap.conf "$(conffiles)"
check "the catalog database knows the kill record (systemd's file trigger)" catalog_knows "$MSGID_KILL"
# The image keeps no /usr/share/doc or man (dpkg path-exclude): the package's
# own list says what it ships there.
for f in /usr/share/doc/cgreap/examples/50-server.conf /usr/share/doc/cgreap/examples/50-desktop.conf \
	/usr/share/doc/cgreap/examples/50-container-host.conf /usr/share/man/man8/cgreapd.8.gz \
	/usr/share/man/man5/cgreap.conf.5.gz /usr/share/man/man1/cgreapctl.1.gz; do
	check "the package ships $f" in_package "$f"
done
check "the package ships an empty drop-in directory" test -d /etc/cgreap/cgreap.conf.d
check "cgreapctl check-config of the shipped configuration" cgreapctl check-config >/dev/null
# debian/tests, as autopkgtest would run them on the installed package. A
# testbed has /usr/share/doc; this image excludes it, so the examples the
# test validates are put where dpkg would have put them.
dpkg-deb --fsys-tarfile "$deb" | tar -x -C / ./usr/share/doc/cgreap/examples
for t in cgreapctl service; do
	check "autopkgtest $t" sh "$payload/debian-tests/$t"
done

# A real kill by the packaged daemon: a slice at MemoryMax=300M, its guard
# at 5%, a 100M holder (adj 600) and a 220M hog that does not fit beside it.
vmt_slice vmt-p13.slice MemoryMax=300M
sp=$(unit_cgroup vmt-p13.slice)
vmt_hold vmt-p13-low 100M --slice=vmt-p13.slice
wait_mem vmt-p13-low.service $((95 << 20)) 60
vmt_dropin 90-p13 >/dev/null <<CONF
$SYSTEM_MONITOR_QUIET

[Monitor pkgslice]
Cgroup=$sp
MemoryHighGuard=5%

[Priority]
vmt-p13-low.service = 600
vmt-p13-keep.service = 100
CONF
cgreapd_reload || bad "cgreapd did not log the reload"
oom0=$(oom_kills)
c=$(jcursor)
vmt_grow vmt-p13-keep 220M --slice=vmt-p13.slice
wait_until 120 is_dead vmt-p13-low.service || bad "vmt-p13-low still runs after 120s"
settle
records "$MSGID_KILL" "$c" | while read -r r; do describe_kill "$r" | indent; done
expect_killed vmt-p13-low.service
expect_alive vmt-p13-keep.service
expect_eq "kills" vmt-p13-low.service "$(killed_list "$c")"
expect_eq "kernel OOM kills (/proc/vmstat)" "$oom0" "$(oom_kills)"
check "journalctl -u vmt-p13-low.service has the kill record" unit_journal_has vmt-p13-low.service "$MSGID_KILL"
# Units, slice and drop-in go now, while there is a cgreapd to reload.
vmt_cleanup

say "apt remove cgreap"
DEBIAN_FRONTEND=noninteractive apt remove -y cgreap 2>&1 | apt_log
expect_eq "dpkg status" "deinstall ok config-files" "$(pkg_status)"
check "cgreapd.service is stopped" not is_active cgreapd.service
check "cgreapd is no longer running" not pgrep -x cgreapd
check "the unit file is gone" test ! -e /lib/systemd/system/cgreapd.service
check "/etc/cgreap/cgreap.conf is kept" test -f /etc/cgreap/cgreap.conf

say "apt purge cgreap"
DEBIAN_FRONTEND=noninteractive apt purge -y cgreap 2>&1 | apt_log
expect_eq "dpkg status after purge (none: not installed)" "" "$(pkg_status | grep -v '^unknown ok not-installed$')"
check "/etc/cgreap is gone (config and the empty drop-in directory)" test ! -e /etc/cgreap
check "the enablement symlink is gone" test ! -e "$enabled_link"

# As the runner left the guest, for the scenarios after this one.
vmt_install_tar "$payload" >/dev/null 2>&1 || bad "the make install copy did not come back"
check "cgreapd is active again (make install copy)" is_active cgreapd.service
rm -f "$deb"
scenario_end
