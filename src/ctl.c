/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "ctl.h"
int ctl_main(int argc, char *argv[]) {
        return 2;
}
