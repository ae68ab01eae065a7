/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* rank: a decision's ranking over the model of the tree (cgtree.h). The
 * model keeps, per cgroup, the part of its adj that its processes do not
 * decide (CgTreeMemo), so that a decision walks the model in memory and
 * reads only the cgroups that can come first: the highest eligible band.
 * At 10 000 services in a few bands it reads a handful of cgroups, not the
 * tree. Logs nothing. */

#include "cgtree.h"
#include "policy.h"

/* policy_rank() of the cgroups below within that can come first in a
 * ranking of the whole subtree, read now: the eligible ones in the highest
 * band of adj known without processes, every one whose processes decide
 * its adj (no rule), and the inner ones at or above that band (which hold
 * processes only in hand-made trees: if one does, its whole subtree is
 * read, and nothing else more). So the first eligible candidate, if any, is the one that
 * policy_rank() ranks first over a full read; the others are not all
 * there. gen (> 0): the caller's generation of c and own_cgroup, which it
 * changes whenever either does. Returns 0, *ret_snap (what was read), the
 * ranking as policy_rank() and *ret_seen, the candidates below within, read
 * or not; -ENOENT when within is not in the model or
 * vanished; -ENOMEM. */
int rank_band(const Config *c, uint16_t gen, CgTree *t, const char *cg_root, const char *proc_root,
              const char *within, const char *own_cgroup, int min_adj, char *const *busy,
              Snapshot **ret_snap, Candidate **ret, size_t *ret_n, size_t *ret_seen);

/* Resolve what the model keeps for every cgroup it knows (not yet resolved
 * in gen): after the model is built and after new rules, so that the next
 * decision does not do it. *ret_resolved: how many were. Returns 0 or as
 * rank_band(). */
int rank_prepare(const Config *c, uint16_t gen, CgTree *t, const char *own_cgroup, size_t *ret_resolved);
