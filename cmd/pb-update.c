/* pb-update - apply scored pulls to the state file; create and merge states. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/pb.h"
#include "util.h"

/* The --policy line of the help: the library's policies, wrapped at 80
 * columns, so a new policy is listed without an edit here. */
static void
policies(FILE *fp)
{
	char word[64];
	const char *name;
	size_t col, len;
	int k;

	col = (size_t)fprintf(fp, "      --policy SPEC     NAME[:PARAM=V,...]:");
	for (k = 0; (name = pb_policy_name((enum pb_policy_kind)k)); k++) {
		len = (size_t)snprintf(word, sizeof word, "%s%s", name,
		      pb_policy_name((enum pb_policy_kind)(k + 1)) ? "," :
		      " (default ucb1)");
		if (col + 1 + len > 80)
			col = (size_t)fprintf(fp, "\n%23s", "") - 1;
		col += (size_t)fprintf(fp, " %s", word);
	}
	fputc('\n', fp);
}

static void
usage(FILE *fp, int status)
{
	fprintf(fp,
	    "usage: pb-update [-kv] [-s STATE] [FILE...]\n"
	    "       pb-update [-s STATE] --init ARMS [--policy SPEC] [--seed N] [--pending-ttl SEC]\n"
	    "                 [--context FIELD] [--repeats R]\n"
	    "       pb-update [-s STATE] --merge OTHER...\n"
	    "       pb-update [-s STATE] --forget-pending\n"
	    "       pb-update [-kv] [-s STATE] --release [FILE...]\n"
	    "       pb-update [-s STATE] [--add-arms ARMS] [--retire ID]...\n"
	    "Apply scored records (JSON lines from pb-score) to the bandit state.\n"
	    "  -s, --state STATE     the state file (default $PB_STATE)\n"
	    "  -k, --keep-going      apply the good records even if some are bad\n"
	    "  -v, --verbose         say what was applied on stderr\n"
	    "      --init ARMS       create STATE from an arms file (JSON lines)\n");
	policies(fp);
	fprintf(fp,
	    "      --seed N          seed of the state's random numbers (default 1)\n"
	    "      --pending-ttl SEC how long a handed-out pull counts as pending (900)\n"
	    "      --context FIELD   keep statistics per value of this task field\n"
	    "      --repeats R       pulls of each (arm, task) pair, averaged per task (1)\n"
	    "      --add-arms ARMS   add the arms of an arms file to the pool\n"
	    "      --retire ID       take arm ID out of the pool (statistics kept)\n"
	    "      --merge           add the statistics of the OTHER state files\n"
	    "      --forget-pending  drop pending pulls older than the pending TTL\n"
	    "      --release         hand back the pulls of FILE's records: they will not come\n"
	    "  -h, --help            show this help\n"
	    "      --version         show the version\n");
	usage_end(fp, status);
}

/* One scored pull as read.  The input is read whole before the state is
 * loaded: in `pb-sample | ... | pb-update` the state is only complete once
 * pb-sample has finished, which our end of file tells us.  The pulls wait
 * in a temp file, and names (arm ids, run ids) are interned, so memory
 * stays flat however long the input. */
struct scored {
	long pull;
	long line;
	const char *file; /* as the record loop named it: argv or a literal */
	int arm, run;     /* indexes into the name table */
	int ctx;          /* the pull's context (name table), or -1 */
	double reward; /* NAN: not scored, counted as an error */
	double tin, tout; /* response.usage's tokens, or -1 */
};

static int releasing; /* --release: records need no reward */

/* What the reading of the input gathers: the spooled records, the names
 * they use, how many were bad. */
struct input {
	FILE *spool;
	size_t n;
	char **names;
	int nnames;
	long bad;
};

static int
bad(struct input *c, const struct pb_where *at, long pull, const char *msg)
{
	warn_at(at->file, at->line, pull, "%s", msg);
	c->bad++;
	return 0;
}

static int
intern(struct input *c, const char *s)
{
	int i;

	for (i = c->nnames - 1; i >= 0; i--)
		if (!strcmp(c->names[i], s))
			return i;
	c->names = erealloc(c->names, (size_t)(c->nnames + 1) * sizeof *c->names);
	c->names[c->nnames] = estrdup(s);
	return c->nnames++;
}

static int
record(cJSON *rec, const struct pb_where *at, const char *why, void *arg)
{
	struct input *c = arg;
	struct pb_scored in;
	struct scored r;
	char err[PB_ERRLEN];

	if (!rec)
		return bad(c, at, 0, why);
	if (pb_scored_read(rec, PB_SCORED_PULL | PB_SCORED_CONTEXT |
	                   (releasing ? 0 : PB_SCORED_REWARD), &in, err) < 0) {
		bad(c, at, in.pull, err);
		cJSON_Delete(rec);
		return 0;
	}
	/* zeroed whole: its padding goes to the spool file too */
	memset(&r, 0, sizeof r);
	r.pull = in.pull;
	r.line = at->line;
	r.file = at->file;
	r.arm = intern(c, in.arm);
	r.run = intern(c, in.run);
	r.ctx = in.context ? intern(c, in.context) : -1;
	r.reward = in.reward;
	r.tin = in.tin;
	r.tout = in.tout;
	if (fwrite(&r, sizeof r, 1, c->spool) != 1)
		die("spool file:");
	c->n++;
	cJSON_Delete(rec);
	return 0;
}

/* Every spool file error but record()'s: the one message. */
static void
spooled(int rv, const char *err)
{
	if (rv < 0)
		die("spool file: %s", err);
}

/* Applies one spooled pull to st: its run and arm must be the state's,
 * its pull handed out.  Returns 0 applied, 1 applied before, -1 bad
 * (reported). */
static int
apply(struct input *c, struct pb_state *st, const struct scored *r,
      const int *armidx)
{
	const char *file = r->file;
	char err[PB_ERRLEN];
	int rv;

	if (strcmp(c->names[r->run], st->run)) {
		warn_at(file, r->line, r->pull, "from run %s, not this state's",
		       c->names[r->run]);
		return -1;
	}
	if (armidx[r->arm] < 0) {
		warn_at(file, r->line, r->pull, "unknown arm '%s'", c->names[r->arm]);
		return -1;
	}
	if (releasing)
		rv = pb_state_release(st, r->pull, armidx[r->arm],
		                      r->ctx >= 0 ? c->names[r->ctx] : NULL, err);
	else
		rv = pb_state_apply_ctx(st, r->pull, armidx[r->arm], r->reward,
		                        r->ctx >= 0 ? c->names[r->ctx] : NULL, err);
	if (rv < 0)
		warn_at(file, r->line, r->pull, "%s", err);
	else if (rv == 0 && r->tin >= 0 && !releasing)
		pb_state_add_tokens(st, armidx[r->arm], r->ctx >= 0 ?
		                    c->names[r->ctx] : NULL, r->tin, r->tout);
	return rv;
}

/* An arms file, or standard input for "-"; *name is what errors call it. */
static FILE *
open_arms(const char *path, const char **name)
{
	FILE *fp = strcmp(path, "-") ? fopen(path, "r") : stdin;

	if (!fp)
		die("%s:", path);
	*name = fp == stdin ? "<stdin>" : path;
	return fp;
}

static void
close_arms(FILE *fp)
{
	if (fp != stdin)
		fclose(fp);
}

/* Every change but --init: lock the state, load it, let change alter it,
 * save it if change returns 1, unlock.  change dies on an error, which
 * leaves the file as it was. */
typedef int change_fn(struct pb_state *st, const char *path, void *arg);

/* locked, given the state pre loaded (pb_state_load_keep, its file
 * open as prefd) before the lock: used as it is if the file did not
 * change meanwhile, else loaded again.  Takes pre and prefd. */
static void
locked_from(const char *path, struct pb_state *pre, int prefd,
            change_fn *change, void *arg)
{
	struct pb_state st;
	char err[PB_ERRLEN];
	int fd;

	if ((fd = pb_state_lock(path, err)) < 0)
		die("%s", err);
	if (pre && pb_state_current(prefd, fd)) {
		st = *pre;
	} else {
		if (pre)
			pb_state_free(pre);
		if (pb_state_load(&st, path, err) < 0)
			die("%s", err);
	}
	if (prefd >= 0)
		close(prefd);
	if (change(&st, path, arg) == 1 && pb_state_save(&st, path, err) < 0)
		die("%s", err);
	pb_state_free(&st);
	pb_state_unlock(fd);
}

static void
locked(const char *path, change_fn *change, void *arg)
{
	locked_from(path, NULL, -1, change, arg);
}

static int
do_init(const char *path, const char *arms, const char *policy, uint64_t seed,
        double ttl, const char *cfield, long repeats)
{
	struct pb_state st;
	struct pb_policy pol;
	char err[PB_ERRLEN];
	const char *name;
	FILE *fp;

	if (pb_policy_parse(&pol, policy, err) < 0)
		die("--policy: %s", err);
	fp = open_arms(arms, &name);
	if (pb_state_new(&st, fp, name, &pol, seed, err) < 0)
		die("%s", err);
	close_arms(fp);
	if (ttl >= 0)
		st.pending_ttl = ttl;
	if (cfield)
		st.ctx_field = estrdup(cfield);
	st.repeats = repeats;
	if (pb_state_create(&st, path, err) < 0) {
		pb_state_free(&st);
		die("%s", err);
	}
	pb_state_free(&st);
	return PB_EXIT_OK;
}

struct files {
	int n;
	char **v;
};

/* --merge: every OTHER read and checked before the save. */
static int
merge_all(struct pb_state *st, const char *path, void *arg)
{
	const struct files *f = arg;
	struct pb_state other;
	char err[PB_ERRLEN];
	int i;

	for (i = 0; i < f->n; i++) {
		if (pb_state_load(&other, f->v[i], err) < 0)
			die("%s", err);
		if (pb_state_merge(st, &other, err) < 0)
			die("%s: %s; %s not changed", f->v[i], err, path);
		pb_state_free(&other);
	}
	return 1;
}

struct pool {
	const char *add;
	char **retire;
	int nretire;
};

/* --add-arms and --retire, in one change. */
static int
change_pool(struct pb_state *st, const char *path, void *arg)
{
	const struct pool *p = arg;
	char err[PB_ERRLEN];
	const char *name;
	FILE *fp;
	int i;

	if (p->add) {
		fp = open_arms(p->add, &name);
		if (pb_state_add_arms(st, fp, name, err) < 0)
			die("--add-arms: %s; %s not changed", err, path);
		close_arms(fp);
	}
	for (i = 0; i < p->nretire; i++)
		if (pb_state_retire(st, p->retire[i], err) < 0)
			die("--retire: %s; %s not changed", err, path);
	return 1;
}

/* Applying: every spooled pull, all or nothing unless -k. */
struct applying {
	struct input *c;
	int keep;
	long applied, dups, errors;
};

static int
apply_all(struct pb_state *st, const char *path, void *arg)
{
	struct applying *a = arg;
	struct input *c = a->c;
	int *armidx = emalloc((size_t)(c->nnames + 1) * sizeof *armidx), k;
	char err[PB_ERRLEN];
	size_t i;

	for (k = 0; k < c->nnames; k++)
		armidx[k] = pb_state_find_arm(st, c->names[k]);
	spooled(pb_spool_rewind(c->spool, err), err);
	for (i = 0; i < c->n; i++) {
		struct scored r;

		spooled(pb_spool_read(c->spool, &r, sizeof r, err), err);
		switch (apply(c, st, &r, armidx)) {
		case 0:
			a->applied++;
			a->errors += isnan(r.reward);
			break;
		case 1:
			a->dups++;
			break;
		default:
			c->bad++;
		}
	}
	free(armidx);
	if (c->bad && !a->keep) {
		warnx_("%ld bad record%s; %s not changed (use -k to apply the rest)",
		       c->bad, c->bad == 1 ? "" : "s", path);
		exit(PB_EXIT_RECORDS);
	}
	return a->applied > 0;
}

/* --forget-pending: saved only if something was forgotten. */
static int
forget(struct pb_state *st, const char *path, void *arg)
{
	long n = pb_state_forget(st, pb_now());

	(void)path;
	(void)arg;
	warnx_("forgot %ld pending pull%s", n, n == 1 ? "" : "s");
	return n > 0;
}

/* Everything the options decide (--release is the static releasing,
 * which record() reads). */
struct opts {
	const char *state, *init, *policy, *cfield, *add;
	char **retire;
	int nretire;
	long seed, repeats;   /* repeats 0: not given */
	double ttl;           /* -1: not given */
	int keep, verbose, merge, forget, seed_given;
};

static void
parse(int argc, char **argv, struct opts *o)
{
	enum { O_INIT = 256, O_POLICY, O_SEED, O_TTL, O_MERGE, O_FORGET, O_CONTEXT,
	       O_ADD, O_RETIRE, O_VERSION, O_REPEATS, O_RELEASE };
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
		{ "context", required_argument, NULL, O_CONTEXT },
		{ "repeats", required_argument, NULL, O_REPEATS },
		{ "release", no_argument, NULL, O_RELEASE },
		{ "add-arms", required_argument, NULL, O_ADD },
		{ "retire", required_argument, NULL, O_RETIRE },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, O_VERSION },
		{ 0 }
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "s:kvh", opts, NULL)) != -1) {
		switch (ch) {
		case 's': o->state = optarg; break;
		case 'k': o->keep = 1; break;
		case 'v': o->verbose = 1; break;
		case O_INIT: o->init = optarg; break;
		case O_POLICY: o->policy = optarg; break;
		case O_SEED:
			o->seed = intarg("--seed", optarg, 0, LONG_MAX);
			o->seed_given = 1;
			break;
		case O_TTL: o->ttl = numarg("--pending-ttl", optarg, 0, 1e9); break;
		case O_MERGE: o->merge = 1; break;
		case O_FORGET: o->forget = 1; break;
		case O_CONTEXT:
			if (!*optarg)
				die("--context: empty field name");
			o->cfield = optarg;
			break;
		case O_ADD: o->add = optarg; break;
		case O_RELEASE: releasing = 1; break;
		case O_REPEATS:
			o->repeats = intarg("--repeats", optarg, 1, PB_MAX_REPEATS);
			break;
		case O_RETIRE:
			o->retire = erealloc(o->retire, (size_t)(o->nretire + 1) *
			                     sizeof *o->retire);
			o->retire[o->nretire++] = optarg;
			break;
		case 'h': usage(stdout, PB_EXIT_OK); break;
		case O_VERSION: version(); break;
		default: usage(stderr, PB_EXIT_USAGE);
		}
	}
	o->state = statepath(o->state);
}

/* Which options go together. */
static void
check(const struct opts *o)
{
	int pool = o->add || o->nretire, other = o->init || o->merge || o->forget || pool;

	if (!!o->init + o->merge + o->forget + pool > 1)
		die("--init, --merge, --forget-pending and --add-arms/--retire go alone");
	if (releasing && other)
		die("--release goes alone");
	if ((o->policy || o->ttl >= 0 || o->seed_given || o->cfield) && !o->init)
		die("--policy, --seed, --pending-ttl and --context only go with --init");
	if (o->repeats && !o->init)
		die("--repeats only goes with --init");
	if ((o->keep || o->verbose) && other)
		die("-k and -v only go with applying records");
}

/* Applying (or releasing) the records of the files: read and check
 * every one first, as the state may still be in the hands of the
 * pb-sample at the head of our pipeline. */
static int
apply_records(const struct opts *o, int argc, char **argv)
{
	struct input c = { 0 };
	struct applying a = { &c, o->keep, 0, 0, 0 };
	struct pb_state st;
	char err[PB_ERRLEN];
	int i, keep;

	/* fail early on a bad state; kept for the lock if it stays current */
	if (pb_state_load_keep(&st, o->state, &keep, err) < 0)
		die("%s", err);
	if (!(c.spool = pb_spool_new(err)))
		spooled(-1, err);
	if (pb_jsonl_files(argc, argv, record, &c, err) < 0)
		die("%s", err);
	if (c.n == 0 && c.bad == 0) {
		/* Not an error: it is what a loop's pb-update sees once the
		 * pb-sample at its head says stop (status 3), which a failure
		 * here would mask under `set -o pipefail`. */
		warnx_("no records to apply; %s not changed", o->state);
		pb_state_free(&st);
		close(keep);
		return PB_EXIT_OK;
	}
	locked_from(o->state, &st, keep, apply_all, &a);
	if (a.dups)
		warnx_("%ld pull%s %s before; skipped", a.dups,
		       a.dups == 1 ? " was" : "s were", releasing ?
		       "applied or released" : "applied");
	if (releasing)
		warnx_("released %ld pull%s", a.applied, a.applied == 1 ? "" : "s");
	else if (o->verbose)
		warnx_("applied %ld pull%s (%ld unscored, counted as errors)", a.applied,
		       a.applied == 1 ? "" : "s", a.errors);
	if (c.bad)
		warnx_("%ld bad record%s skipped", c.bad, c.bad == 1 ? "" : "s");
	for (i = 0; i < c.nnames; i++)
		free(c.names[i]);
	free(c.names);
	fclose(c.spool);
	return c.bad ? PB_EXIT_RECORDS : PB_EXIT_OK;
}

int
main(int argc, char **argv)
{
	struct opts o = { .seed = 1, .ttl = -1 };

	setprog(argv[0]);
	parse(argc, argv, &o);
	argc -= optind;
	argv += optind;
	check(&o);
	if (o.init) {
		if (argc)
			usage(stderr, PB_EXIT_USAGE);
		return do_init(o.state, o.init, o.policy ? o.policy : "ucb1",
		               (uint64_t)o.seed, o.ttl, o.cfield,
		               o.repeats ? o.repeats : 1);
	}
	if (o.add || o.nretire) {
		struct pool p = { o.add, o.retire, o.nretire };
		if (argc)
			usage(stderr, PB_EXIT_USAGE);
		locked(o.state, change_pool, &p);
		free(o.retire);
		return PB_EXIT_OK;
	}
	if (o.merge) {
		struct files f = { argc, argv };
		if (argc == 0)
			die("--merge: no state files to merge");
		locked(o.state, merge_all, &f);
		return PB_EXIT_OK;
	}
	if (o.forget) {
		locked(o.state, forget, NULL);
		return PB_EXIT_OK;
	}
	return apply_records(&o, argc, argv);
}
