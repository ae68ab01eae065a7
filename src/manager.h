/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once
/* manager: the sd-event loop that owns everything (placeholder until written). */
