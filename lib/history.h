/* history.h - fragment for lib/pb.h (the lead merges it): the bounded
 * history a state keeps of how its run unfolded.  Include after pb.h. */
#ifndef PB_HISTORY_H
#define PB_HISTORY_H

#include "pb.h"

/* ===================================================================== */
/* history.c: each arm's pulls, mean and selection probability over time */
/* ===================================================================== */

/* At most PB_HIST_CAP points are kept.  A point is taken after every
 * `stride` applied pulls (st->updates a multiple of stride, or the first
 * update past the next multiple when a merge jumps the count); when the
 * buffer is full, every other point is dropped (the later of each pair
 * stays, so the newest point always survives) and the stride doubles.
 * A million updates therefore leave between PB_HIST_CAP / 2 and
 * PB_HIST_CAP points at a stride of 2^13 or 2^14, and taking a point,
 * the only costly step (pb_policy_probs), happens about
 * PB_HIST_CAP / 2 * log2(updates / PB_HIST_CAP) times in all. */
#define PB_HIST_CAP 200

/* One arm's series, keyed by arm id so arms added or retired later keep
 * their past: values are NAN at points where the arm was not in the
 * state. */
struct pb_hist_series {
	char *id;
	double *pulls; /* rewarded pulls (PB_HIST_CAP places each) */
	double *mean;  /* mean reward */
	double *var;   /* sample variance of the rewards (for the t band) */
	double *prob;  /* pb_policy_probs: chance of the next pull */
};

struct pb_history {
	long stride;   /* updates between points, a power of two */
	long next;     /* take the next point when updates reaches this
	                * (derived, not saved: the next multiple of stride
	                * after the last point) */
	size_t n;      /* points kept */
	double *updates; /* st->updates at each point */
	struct pb_hist_series *ser;
	size_t nser;
};

/* Takes a point if one is due after st->updates changed; called by
 * pb_state_apply after each applied pull.  When no point is due this is
 * one comparison.  Out of memory, the point is skipped: the history is
 * a record for people, and never worth failing an update for. */
void pb_history_note(struct pb_state *st);

/* Takes a point now, whatever the stride (tests, and a final point for
 * plots).  Returns 0, or -1 out of memory. */
int pb_history_take(struct pb_state *st);

/* The history as the state file's "history" member (pb-state(5)):
 *   {"stride":S,"updates":[...],
 *    "arms":{"ID":{"pulls":[...],"mean":[...],"var":[...],"prob":[...]}}}
 * with NAN written as null.  Returns a new tree, or NULL. */
cJSON *pb_history_to_json(const struct pb_history *h);

/* Reads a "history" member into a new *out (NULL when o is NULL: a state
 * without history).  Arrays must all have the length of "updates", at
 * most PB_HIST_CAP, with updates increasing.  Returns 0, or -1 with err
 * saying what is wrong (without the path). */
int pb_history_from_json(struct pb_history **out, const cJSON *o,
                         char err[PB_ERRLEN]);

void pb_history_free(struct pb_history *h);

/* The series of arm id, or NULL. */
const struct pb_hist_series *pb_history_find(const struct pb_history *h,
                                             const char *id);

#endif
