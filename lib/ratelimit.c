/* ratelimit.c - the pace pb-query sends at: token buckets for --rpm and
 * --tpm, and the client-wide slow-down when the server says too many. */
#include "llm.h"

#define MIN_FACTOR (1.0 / 64)

/* A second's worth, and at least one request (or token). */
static void
bucket_init(struct pb_bucket *b, double per_minute, double now)
{
	b->rate = per_minute / 60;
	b->cap = b->rate > 1 ? b->rate : 1;
	b->level = b->cap;
	b->t = now;
}

/* Fills b up to now at factor times its rate. */
static void
bucket_fill(struct pb_bucket *b, double factor, double now)
{
	if (now > b->t) {
		b->level += (now - b->t) * b->rate * factor;
		if (b->level > b->cap)
			b->level = b->cap;
	}
	b->t = now;
}

/* Seconds until cost can be taken (a cost above the cap waits for a
 * full bucket). */
static double
bucket_wait(struct pb_bucket *b, double cost, double factor, double now)
{
	double need;

	if (b->rate <= 0)
		return 0;
	bucket_fill(b, factor, now);
	need = cost < b->cap ? cost : b->cap;
	if (b->level >= need)
		return 0;
	return (need - b->level) / (b->rate * factor);
}

void
pb_limiter_init(struct pb_limiter *l, int max, double rpm, double tpm,
                double now)
{
	bucket_init(&l->rpm, rpm, now);
	bucket_init(&l->tpm, tpm, now);
	l->max = max < 1 ? 1 : max;
	l->conc = l->max;
	l->factor = 1;
	l->pause_until = now;
	l->last_cut = -1e300;
	l->cuts = 0;
}

int
pb_limiter_slots(const struct pb_limiter *l)
{
	int n = (int)l->conc;

	return n < 1 ? 1 : n > l->max ? l->max : n;
}

double
pb_limiter_wait(struct pb_limiter *l, double tokens, double now)
{
	double w = l->pause_until > now ? l->pause_until - now : 0, x;

	if ((x = bucket_wait(&l->rpm, 1, l->factor, now)) > w)
		w = x;
	if ((x = bucket_wait(&l->tpm, tokens, l->factor, now)) > w)
		w = x;
	return w;
}

void
pb_limiter_take(struct pb_limiter *l, double tokens, double now)
{
	if (l->rpm.rate > 0) {
		bucket_fill(&l->rpm, l->factor, now);
		l->rpm.level -= 1;
	}
	if (l->tpm.rate > 0) {
		bucket_fill(&l->tpm, l->factor, now);
		l->tpm.level -= tokens;
	}
}

void
pb_limiter_usage(struct pb_limiter *l, double estimated, double actual)
{
	if (l->tpm.rate <= 0 || actual < 0)
		return;
	l->tpm.level += estimated - actual;
	if (l->tpm.level > l->tpm.cap)
		l->tpm.level = l->tpm.cap;
}

void
pb_limiter_overload(struct pb_limiter *l, double sent_at, double now,
                    double wait)
{
	if (now + wait > l->pause_until)
		l->pause_until = now + wait;
	/* The requests already in flight when the cut was made carry no news
	 * about the new pace: many of them fail together. */
	if (sent_at <= l->last_cut)
		return;
	l->last_cut = now;
	l->cuts++;
	l->conc /= 2;
	if (l->conc < 1)
		l->conc = 1;
	l->factor /= 2;
	if (l->factor < MIN_FACTOR)
		l->factor = MIN_FACTOR;
}

void
pb_limiter_success(struct pb_limiter *l)
{
	double c = l->conc;

	l->conc += 1 / c;
	if (l->conc > l->max)
		l->conc = l->max;
	l->factor += 1 / (16 * c);
	if (l->factor > 1)
		l->factor = 1;
}

void
pb_limiter_hold(struct pb_limiter *l, double until)
{
	if (until > l->pause_until)
		l->pause_until = until;
}
