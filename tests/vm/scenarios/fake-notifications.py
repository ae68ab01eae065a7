#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# A stand-in desktop notification server for tests/live-notify.sh and the
# guest scenario 22-notif: owns org.freedesktop.Notifications on the bus at
# ADDRESS and writes every Notify
# call as "app|summary|body|urgency" to OUT (after a first line "ready").
# Usage: fake-notifications.py ADDRESS OUT
import sys

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
bus = dbus.bus.BusConnection(sys.argv[1])
name = dbus.service.BusName("org.freedesktop.Notifications", bus)
out = open(sys.argv[2], "a", buffering=1)


class Notifications(dbus.service.Object):
    @dbus.service.method("org.freedesktop.Notifications", in_signature="susssasa{sv}i", out_signature="u")
    def Notify(self, app, replaces, icon, summary, body, actions, hints, timeout):
        out.write("%s|%s|%s|%d\n" % (app, summary, body, int(hints.get("urgency", -1))))
        return 1

    @dbus.service.method("org.freedesktop.Notifications", in_signature="", out_signature="ssss")
    def GetServerInformation(self):
        return ("fake", "cgreap tests", "1", "1.2")


Notifications(bus, "/org/freedesktop/Notifications")
out.write("ready\n")
GLib.MainLoop().run()
