/* pb-update - apply scored pulls to the state file; create and merge states. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/pb.h"
#include "util.h"

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: pb-update [-kv] [-s STATE] [FILE...]\n"
	    "       pb-update [-s STATE] --init ARMS [--policy SPEC] [--seed N] [--pending-ttl SEC]\n"
	    "       pb-update [-s STATE] --merge OTHER...\n"
	    "       pb-update [-s STATE] --forget-pending\n"
	    "Apply scored records (JSON lines from pb-score) to the bandit state.\n"
	    "  -s, --state FILE      the state file (default $PB_STATE)\n"
	    "  -k, --keep-going      apply the good records even if some are bad\n"
	    "  -v, --verbose         say what was applied on stderr\n"
	    "      --init ARMS       create STATE from an arms file (JSON lines)\n"
	    "      --policy SPEC     uniform, epsilon-greedy[:epsilon=E], ucb1[:c=C],\n"
	    "                        thompson[:a=A,b=B] (default ucb1)\n"
	    "      --seed N          seed of the state's random numbers (default 1)\n"
	    "      --pending-ttl SEC how long a handed-out pull counts as pending (900)\n"
	    "      --merge           add the statistics of the OTHER state files\n"
	    "      --forget-pending  drop pending pulls older than the pending TTL\n"
	    "  -h, --help            show this help\n"
	    "      --version         show the version\n");
	exit(status);
}

/* One scored pull, validated against a snapshot of the state before the
 * lock is taken, so the lock is held only for the read-modify-write. */
struct scored {
	long pull;
	int arm;
	double reward; /* NAN: not scored, counted as an error */
};

struct ctx {
	const struct pb_state *snap;
	struct scored *v;
	size_t n, cap;
	long bad;
};

static int
bad(struct ctx *c, const struct pb_where *at, long pull, const char *fmt,
    const char *arg)
{
	char msg[PB_ERRLEN];

	snprintf(msg, sizeof msg, fmt, arg);
	if (pull > 0)
		warnx_("%s:%ld: pull %ld: %s", at->file, at->line, pull, msg);
	else
		warnx_("%s:%ld: %s", at->file, at->line, msg);
	c->bad++;
	return 0;
}

/* Checks pull against the snapshot's pending list: it must have been
 * handed out, and to this arm.  Returns 1 if it may be applied. */
static int
checked_pull(struct ctx *c, const struct pb_where *at, long pull, int ai)
{
	const struct pb_state *st = c->snap;
	long k = pb_state_find_pending(st, pull);

	if (pull >= st->next_pull) {
		bad(c, at, pull, "%snever handed out by this state", "");
		return 0;
	}
	if (k >= 0 && st->pend[k].arm != ai) {
		char msg[PB_ERRLEN];
		snprintf(msg, sizeof msg, "arm '%s' is not '%s', the arm it was "
		         "handed out to", st->arms[ai].id, st->arms[st->pend[k].arm].id);
		bad(c, at, pull, "%s", msg);
		return 0;
	}
	return 1;
}

static int
record(cJSON *rec, const struct pb_where *at, const char *why, void *arg)
{
	struct ctx *c = arg;
	const char *run, *arm;
	double pull = 0, reward;
	cJSON *rv;
	int ai;

	if (!rec)
		return bad(c, at, 0, "%s", why);
	if (pb_json_num(rec, "pull", &pull) || pull < 1 || pull != floor(pull) ||
	    pull > 9e15) {
		cJSON_Delete(rec);
		return bad(c, at, 0, "%s", "no \"pull\" id (not a pb-sample record?)");
	}
	if (!(run = pb_json_str(rec, "run")) || strcmp(run, c->snap->run)) {
		bad(c, at, (long)pull, run ? "from run %s, not this state's" :
		    "%sno \"run\" id", run ? run : "");
		cJSON_Delete(rec);
		return 0;
	}
	if (!(arm = pb_json_str(rec, "arm")) || (ai = pb_state_find_arm(c->snap, arm)) < 0) {
		bad(c, at, (long)pull, arm ? "unknown arm '%s'" : "%sno \"arm\"",
		    arm ? arm : "");
		cJSON_Delete(rec);
		return 0;
	}
	rv = cJSON_GetObjectItemCaseSensitive(rec, "reward");
	if (!rv) {
		bad(c, at, (long)pull, "%snot scored (no \"reward\"; run pb-score first)", "");
		cJSON_Delete(rec);
		return 0;
	}
	if (cJSON_IsNull(rv)) {
		reward = NAN;
	} else if (!cJSON_IsNumber(rv) || !isfinite(rv->valuedouble) ||
	           rv->valuedouble < 0 || rv->valuedouble > 1) {
		char *s = cJSON_PrintUnformatted(rv);
		bad(c, at, (long)pull, "reward %s is not a number in [0,1]", s ? s : "?");
		cJSON_free(s);
		cJSON_Delete(rec);
		return 0;
	} else {
		reward = rv->valuedouble;
	}
	cJSON_Delete(rec);
	if (!checked_pull(c, at, (long)pull, ai))
		return 0;
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 1024;
		c->v = erealloc(c->v, c->cap * sizeof *c->v);
	}
	c->v[c->n].pull = (long)pull;
	c->v[c->n].arm = ai;
	c->v[c->n].reward = reward;
	c->n++;
	return 0;
}

static void
read_input(struct ctx *c, int argc, char **argv)
{
	char err[PB_ERRLEN];
	int i;

	if (argc == 0) {
		if (pb_jsonl_each(stdin, "<stdin>", record, c, NULL, err) < 0)
			die("%s", err);
		return;
	}
	for (i = 0; i < argc; i++) {
		FILE *fp = strcmp(argv[i], "-") ? fopen(argv[i], "r") : stdin;
		if (!fp)
			die("%s: %s", argv[i], strerror(errno));
		if (pb_jsonl_each(fp, fp == stdin ? "<stdin>" : argv[i], record, c,
		                  NULL, err) < 0)
			die("%s", err);
		if (fp != stdin)
			fclose(fp);
	}
}

static int
do_init(const char *path, const char *arms, const char *policy, uint64_t seed,
        double ttl)
{
	struct pb_state st;
	struct pb_policy pol;
	char err[PB_ERRLEN];
	FILE *fp;

	if (pb_policy_parse(&pol, policy, err) < 0)
		die("--policy: %s", err);
	if (!(fp = strcmp(arms, "-") ? fopen(arms, "r") : stdin))
		die("%s: %s", arms, strerror(errno));
	if (pb_state_new(&st, fp, fp == stdin ? "<stdin>" : arms, &pol, seed, err) < 0)
		die("%s", err);
	if (fp != stdin)
		fclose(fp);
	if (ttl >= 0)
		st.pending_ttl = ttl;
	if (pb_state_create(&st, path, err) < 0) {
		pb_state_free(&st);
		die("%s", err);
	}
	pb_state_free(&st);
	return PB_EXIT_OK;
}

static int
do_merge(const char *path, int argc, char **argv)
{
	struct pb_state st, other;
	char err[PB_ERRLEN];
	int fd, i;

	if (argc == 0)
		die("--merge: no state files to merge");
	if ((fd = pb_state_lock(path, err)) < 0)
		die("%s", err);
	if (pb_state_load(&st, path, err) < 0)
		die("%s", err);
	for (i = 0; i < argc; i++) {
		if (pb_state_load(&other, argv[i], err) < 0)
			die("%s", err);
		if (pb_state_merge(&st, &other, err) < 0)
			die("%s: %s; %s not changed", argv[i], err, path);
		pb_state_free(&other);
	}
	if (pb_state_save(&st, path, err) < 0)
		die("%s", err);
	pb_state_free(&st);
	pb_state_unlock(fd);
	return PB_EXIT_OK;
}

static int
do_forget(const char *path)
{
	struct pb_state st;
	char err[PB_ERRLEN];
	double now = pb_now();
	size_t i, n = 0;
	int fd;

	if ((fd = pb_state_lock(path, err)) < 0 || pb_state_load(&st, path, err) < 0)
		die("%s", err);
	for (i = 0; i < st.npend; i++)
		if (now - st.pend[i].t >= st.pending_ttl) {
			pb_state_drop_pending(&st, i);
			n++;
		}
	if (n && pb_state_save(&st, path, err) < 0)
		die("%s", err);
	warnx_("forgot %zu pending pull%s", n, n == 1 ? "" : "s");
	pb_state_free(&st);
	pb_state_unlock(fd);
	return PB_EXIT_OK;
}

int
main(int argc, char **argv)
{
	enum { O_INIT = 256, O_POLICY, O_SEED, O_TTL, O_MERGE, O_FORGET, O_VERSION };
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "keep-going", no_argument, NULL, 'k' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "init", required_argument, NULL, O_INIT },
		{ "policy", required_argument, NULL, O_POLICY },
		{ "seed", required_argument, NULL, O_SEED },
		{ "pending-ttl", required_argument, NULL, O_TTL },
		{ "merge", no_argument, NULL, O_MERGE },
		{ "forget-pending", no_argument, NULL, O_FORGET },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, O_VERSION },
		{ 0 }
	};
	const char *spath = NULL, *init = NULL, *policy = NULL;
	long seed = 1, dups = 0, errors = 0, applied = 0;
	double ttl = -1;
	int ch, keep = 0, verbose = 0, merge = 0, forget = 0, fd;
	struct pb_state snap, st;
	struct ctx c = { 0 };
	char err[PB_ERRLEN];
	size_t i;

	setprog(argv[0]);
	while ((ch = getopt_long(argc, argv, "s:kvh", opts, NULL)) != -1) {
		switch (ch) {
		case 's': spath = optarg; break;
		case 'k': keep = 1; break;
		case 'v': verbose = 1; break;
		case O_INIT: init = optarg; break;
		case O_POLICY: policy = optarg; break;
		case O_SEED: seed = intarg("--seed", optarg, 0, LONG_MAX); break;
		case O_TTL: ttl = numarg("--pending-ttl", optarg, 0, 1e9); break;
		case O_MERGE: merge = 1; break;
		case O_FORGET: forget = 1; break;
		case 'h': usage(stdout, PB_EXIT_OK); break;
		case O_VERSION: version(); break;
		default: usage(stderr, PB_EXIT_USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	spath = statepath(spath);
	if (!!init + merge + forget > 1)
		die("--init, --merge and --forget-pending go alone");
	if ((policy || ttl >= 0) && !init)
		die("--policy and --pending-ttl only go with --init");
	if (init) {
		if (argc)
			usage(stderr, PB_EXIT_USAGE);
		return do_init(spath, init, policy ? policy : "ucb1", (uint64_t)seed, ttl);
	}
	if (merge)
		return do_merge(spath, argc, argv);
	if (forget)
		return do_forget(spath);

	/* Read and check every record before taking the lock: pb-sample may
	 * still hold it, and it would wait on us through the pipe. */
	if (pb_state_load(&snap, spath, err) < 0)
		die("%s", err);
	c.snap = &snap;
	read_input(&c, argc, argv);
	if (c.bad && !keep) {
		warnx_("%ld bad record%s; %s not changed (use -k to apply the rest)",
		       c.bad, c.bad == 1 ? "" : "s", spath);
		return PB_EXIT_RECORDS;
	}
	if (c.n == 0 && c.bad == 0)
		die("no records to apply");

	if ((fd = pb_state_lock(spath, err)) < 0 || pb_state_load(&st, spath, err) < 0)
		die("%s", err);
	if (strcmp(st.run, snap.run) || st.narms != snap.narms)
		die("%s was replaced while reading; not changed", spath);
	for (i = 0; i < c.n; i++) {
		const struct scored *r = &c.v[i];
		long k = pb_state_find_pending(&st, r->pull);

		if (k >= 0 && st.pend[k].arm >= 0 && st.pend[k].arm != r->arm)
			die("pull %ld: arm '%s' is not the arm '%s' it was handed "
			    "out to; %s not changed", r->pull, st.arms[r->arm].id,
			    st.arms[st.pend[k].arm].id, spath);
		if (k < 0 && r->pull >= st.next_pull)
			die("pull %ld: never handed out by this state; %s not changed",
			    r->pull, spath);
		if (k < 0 || st.pend[k].arm < 0) {
			dups++;
			continue;
		}
		pb_state_drop_pending(&st, (size_t)k);
		if (isnan(r->reward)) {
			st.arms[r->arm].errors++;
			errors++;
		} else {
			pb_stats_add(&st.arms[r->arm].st, r->reward);
		}
		st.updates++;
		applied++;
	}
	if (applied && pb_state_save(&st, spath, err) < 0)
		die("%s", err);
	pb_state_unlock(fd);
	if (dups)
		warnx_("%ld pull%s applied before; skipped", dups,
		       dups == 1 ? " was" : "s were");
	if (verbose)
		warnx_("applied %ld pull%s (%ld unscored, counted as errors)", applied,
		       applied == 1 ? "" : "s", errors);
	if (c.bad)
		warnx_("%ld bad record%s skipped", c.bad, c.bad == 1 ? "" : "s");
	pb_state_free(&st);
	pb_state_free(&snap);
	free(c.v);
	return c.bad ? PB_EXIT_RECORDS : PB_EXIT_OK;
}
