/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "manager.h"

int main(int argc, char *argv[]) {
        return 1;
}
