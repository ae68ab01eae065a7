/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* monitor: the set of watched cgroups (placeholder until written). */
