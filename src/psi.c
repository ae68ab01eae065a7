/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* psi: *.pressure text and PSI triggers. See psi.h. */

#include <linux/capability.h>

#include "psi.h"

int psi_trigger_check(const PsiTrigger *t, bool have_sys_resource, const char **ret_reason) {
        const char *reason = NULL;

        if (t->window_usec < PSI_WINDOW_MIN_USEC || t->window_usec > PSI_WINDOW_MAX_USEC)
                reason = "the window must be between 500ms and 10s";
        else if (t->stall_usec == 0)
                reason = "the stall must be greater than 0";
        else if (t->stall_usec > t->window_usec)
                reason = "the stall must not be longer than the window";
        else if (!have_sys_resource && t->window_usec % PSI_WINDOW_UNPRIV_STEP_USEC != 0)
                reason = "without CAP_SYS_RESOURCE the window must be a multiple of 2s";

        if (reason) {
                if (ret_reason)
                        *ret_reason = reason;
                return -EINVAL;
        }
        return 0;
}

bool psi_have_cap_sys_resource(void) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/status", "re");
        char line[256];

        if (!f)
                return false;
        while (fgets(line, sizeof line, f)) {
                unsigned long long caps;

                if (sscanf(line, "CapEff: %llx", &caps) == 1)
                        return caps & (1ULL << CAP_SYS_RESOURCE);
        }
        return false;
}
