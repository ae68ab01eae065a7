/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* bus: the system-bus interface org.cgreap1.Manager at /org/cgreap1 (name
 * org.cgreap1), on the manager's sd-event loop. It shows the manager's
 * counters and state as properties, turns the methods Kill and Reload into
 * manager calls, and sends the signals Killed and Reclaimed. It decides
 * nothing and keeps no state but the last kill it announced. */

#include <systemd/sd-event.h>

#include "report.h"

#define BUS_NAME "org.cgreap1"
#define BUS_PATH "/org/cgreap1"
#define BUS_INTERFACE "org.cgreap1.Manager"

/* Kill() flags: bit 0 kills a cgroup whose adj is -1000 too. Protected
 * cgroups (the root, init.scope, cgreapd's own) are never killed. */
#define BUS_KILL_FORCE (UINT64_C(1) << 0)

typedef struct Manager Manager;
typedef struct Bus Bus;

/* Connects to the system bus ($DBUS_SYSTEM_BUS_ADDRESS if set), attaches
 * to e and takes the name. Returns 0, or negative errno (the caller goes
 * on without the bus). */
int bus_new(Manager *m, sd_event *e, Bus **ret);
Bus *bus_free(Bus *b);
static inline void bus_freep(Bus **b) { *b = bus_free(*b); }

/* For the clients (cgreapctl monitor, cgreap-notify): the default event
 * loop, set to exit on SIGINT and SIGTERM. */
int bus_client_event_new(sd_event **ret);

/* The signals; b may be NULL (no bus). footprint: memory + swap. */
void bus_emit_killed(Bus *b, const KillReport *k);
void bus_emit_reclaimed(Bus *b, const KillReport *k);
