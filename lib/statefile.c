/* statefile.c - the state file: lock, load and validate, save atomically
 * (a temp file, fsync, rename, fsync of the folder).  The format is
 * documented in man/pb-state.5; keep the two in step.  The JSON of the
 * parts is statejson.c's. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bandit.h"
#include "internal.h"

/* Writes the serialised state to a new temp file beside path and syncs it.
 * Returns the open descriptor's name in tmp, or -1 with err set. */
static int
write_temp(const struct pb_state *st, const char *path, char *tmp, size_t n,
           char err[PB_ERRLEN])
{
	mode_t um;
	int fd, rv;

	if (strlen(path) + 12 > n) {
		snprintf(err, PB_ERRLEN, "%s: path too long", path);
		return -1;
	}
	snprintf(tmp, n, "%s.tmpXXXXXX", path);
	if ((fd = mkstemp(tmp)) < 0) {
		snprintf(err, PB_ERRLEN, "%s: cannot create temp file: %s", path,
		         strerror(errno));
		return -1;
	}
	{
		/* a new state is the user's data: 0600 whatever the umask; a
		 * saved one keeps the mode it has */
		struct stat sb;
		um = stat(path, &sb) == 0 ? sb.st_mode & 07777 : 0600;
	}
	/* the text goes out as it is made (stateprint.c): a state of a
	 * million tasks is never held whole */
	if ((rv = pb__state_write(st, fd)) == -1) {
		snprintf(err, PB_ERRLEN, "%s: out of memory", path);
		close(fd);
		unlink(tmp);
		return -1;
	}
	if (rv < 0 || fchmod(fd, um) < 0 || fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	snprintf(err, PB_ERRLEN, "%s: cannot write state: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}

static void
sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd;

	if (!copy)
		return;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

int
pb_state_save(const struct pb_state *st, const char *path, char err[PB_ERRLEN])
{
	char tmp[4096];

	if (write_temp(st, path, tmp, sizeof tmp, err) < 0)
		return -1;
	if (rename(tmp, path) < 0) {
		snprintf(err, PB_ERRLEN, "%s: cannot replace state: %s", path,
		         strerror(errno));
		unlink(tmp);
		return -1;
	}
	sync_dir(path);
	return 0;
}

int
pb_state_create(const struct pb_state *st, const char *path, char err[PB_ERRLEN])
{
	char tmp[4096];
	int rv = 0;

	if (write_temp(st, path, tmp, sizeof tmp, err) < 0)
		return -1;
	if (link(tmp, path) < 0) {
		snprintf(err, PB_ERRLEN, errno == EEXIST ?
		         "%s: already exists (remove it first to start afresh)" :
		         "%s: cannot create state: %s", path, strerror(errno));
		rv = -1;
	}
	unlink(tmp);
	if (rv == 0)
		sync_dir(path);
	return rv;
}

/* ---------------------------------------------------------------- lock */

int
pb_state_lock(const char *path, char err[PB_ERRLEN])
{
	struct stat a, b;
	int fd;

	for (;;) {
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
			snprintf(err, PB_ERRLEN, "%s: %s", path, strerror(errno));
			return -1;
		}
		while (flock(fd, LOCK_EX) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, PB_ERRLEN, "%s: cannot lock: %s", path,
			         strerror(errno));
			close(fd);
			return -1;
		}
		/* A writer that held the lock may have renamed a new file
		 * over path: then our lock guards a dead inode. */
		if (fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
			return fd;
		close(fd);
	}
}

void
pb_state_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}

/* ---------------------------------------------------------------- load */

static int
bad(char err[PB_ERRLEN], const char *path, const char *what)
{
	snprintf(err, PB_ERRLEN, "%s: not a valid state file: %s", path, what);
	return -1;
}

static int
getnum(const cJSON *o, const char *key, double *v, int nonneg)
{
	cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(x) || !isfinite(x->valuedouble) ||
	    (nonneg && x->valuedouble < 0))
		return -1;
	*v = x->valuedouble;
	return 0;
}

static int
load_policy(struct pb_policy *p, const cJSON *o, const char *path,
            char err[PB_ERRLEN])
{
	const char *name = pb_json_str(o, "name");
	double v;
	size_t i;

	/* The bare name parses with defaults, even for a policy that needs a
	 * parameter (budget), which the file then supplies. */
	if (!name || (pb_policy_parse(p, name, err) < 0 &&
	    !strstr(err, "needs budget")))
		return bad(err, path, "policy.name missing or unknown");
	for (i = 0; i < pb_policy_nparams; i++)
		if (pb_policy_params[i].kind == p->kind &&
		    getnum(o, pb_policy_params[i].key, &v, 0) == 0)
			*pb_policy_field(p, &pb_policy_params[i]) = v;
	if (pb_policy_check(p, err) < 0) {
		char why[PB_ERRLEN];
		snprintf(why, sizeof why, "policy %s", err);
		return bad(err, path, why);
	}
	return 0;
}

static int
load_arms(struct pb_state *st, const cJSON *arr, const char *path,
          char err[PB_ERRLEN])
{
	const cJSON *a;
	int n = cJSON_GetArraySize(arr), i = 0;
	char what[256];
	struct pb_tasks ids = { 0 };

	if (n <= 0)
		return bad(err, path, "no arms");
	if (!(st->arms = calloc((size_t)n, sizeof *st->arms))) {
		snprintf(err, PB_ERRLEN, "out of memory");
		return -1;
	}
	cJSON_ArrayForEach(a, arr) {
		struct pb_arm *arm = &st->arms[i];
		const char *id = pb_json_str(a, "id");
		cJSON *f = cJSON_GetObjectItemCaseSensitive(a, "fields"),
		      *ret = cJSON_GetObjectItemCaseSensitive(a, "retired");

		if (!id || !*id || !cJSON_IsObject(f) || (ret && !cJSON_IsBool(ret)) ||
		    pb_arm_stats_load(st, arm, a) < 0) {
			pb_tasks_free(&ids);
			snprintf(what, sizeof what, "arms[%d] is malformed", i);
			return bad(err, path, what);
		}
		arm->retired = cJSON_IsTrue(ret);
		if (pb_tasks_find(&ids, id) >= 0) {
			pb_tasks_free(&ids);
			snprintf(what, sizeof what, "arms[%d]: duplicate id '%s'", i, id);
			return bad(err, path, what);
		}
		if (pb_tasks_add(&ids, id, 0) < 0) {
			pb_tasks_free(&ids);
			snprintf(err, PB_ERRLEN, "out of memory");
			return -1;
		}
		if (!(arm->id = strdup(id)) ||
		    !(arm->fields = cJSON_Duplicate(f, 1))) {
			pb_tasks_free(&ids);
			snprintf(err, PB_ERRLEN, "out of memory");
			return -1;
		}
		st->narms = (size_t)++i;
	}
	pb_tasks_free(&ids);
	(void)pb__arms_index(st); /* on failure lookups are linear */
	return 0;
}

static int
isint(const cJSON *v, double lo, double hi)
{
	return cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) &&
	       v->valuedouble >= lo && v->valuedouble <= hi;
}

static int
load_pending(struct pb_state *st, const cJSON *arr, const char *path,
             char err[PB_ERRLEN])
{
	const cJSON *p, *x;
	int n = cJSON_GetArraySize(arr);
	long end = 1; /* batches are in order and do not overlap */

	if (n > 0 && !(st->batch = calloc((size_t)n, sizeof *st->batch))) {
		snprintf(err, PB_ERRLEN, "out of memory");
		return -1;
	}
	cJSON_ArrayForEach(p, arr) {
		struct pb_batch *b = &st->batch[st->nbatch];
		cJSON *first = cJSON_GetObjectItemCaseSensitive(p, "first"),
		      *num = cJSON_GetObjectItemCaseSensitive(p, "n"),
		      *k = cJSON_GetObjectItemCaseSensitive(p, "k"),
		      *t = cJSON_GetObjectItemCaseSensitive(p, "t"),
		      *left = cJSON_GetObjectItemCaseSensitive(p, "left"),
		      *done = cJSON_GetObjectItemCaseSensitive(p, "done"),
		      *arms = cJSON_GetObjectItemCaseSensitive(p, "arms"),
		      *tasks = cJSON_GetObjectItemCaseSensitive(p, "tasks");
		long out = 0, back = 0, prev, *left_saved, m;
		size_t r;

		if (!isint(first, (double)end, (double)st->next_pull - 1) ||
		    !isint(num, 1, (double)st->next_pull - first->valuedouble) ||
		    !cJSON_IsNumber(t) || !cJSON_IsObject(left) || !cJSON_IsArray(done) ||
		    !cJSON_IsArray(arms) || !cJSON_IsArray(tasks) ||
		    cJSON_GetArraySize(arms) != (int)num->valuedouble ||
		    cJSON_GetArraySize(tasks) != (int)num->valuedouble)
			return bad(err, path, "malformed pending batch");
		b->first = (long)first->valuedouble;
		b->n = (long)num->valuedouble;
		if (k && (!isint(k, 1, (double)b->n) || b->n % (long)k->valuedouble))
			return bad(err, path, "pending batch: bad k");
		b->k = k ? (long)k->valuedouble : 1;
		if (st->repeats > 1 && b->k % st->repeats)
			return bad(err, path, "pending batch: k is not a multiple of repeats");
		b->t = t->valuedouble;
		end = b->first + b->n;
		b->cap = (size_t)b->n;
		if (!(b->left = calloc(st->narms, sizeof *b->left)) ||
		    !(left_saved = calloc(st->narms, sizeof *left_saved)) ||
		    !(b->arm = malloc(b->cap * sizeof *b->arm)) ||
		    !(b->pos = malloc(b->cap * sizeof *b->pos))) {
			if (b->left)
				free(left_saved);
			st->nbatch++;
			snprintf(err, PB_ERRLEN, "out of memory");
			return -1;
		}
		st->nbatch++;
		m = 0;
		cJSON_ArrayForEach(x, arms) {
			if (!isint(x, 0, (double)st->narms - 1)) {
				free(left_saved);
				return bad(err, path, "pending batch: an arm number is not "
				           "an index into arms");
			}
			b->arm[m++] = (int)x->valuedouble;
		}
		m = 0;
		cJSON_ArrayForEach(x, tasks) {
			if (!isint(x, -1, 9e15)) {
				free(left_saved);
				return bad(err, path, "pending batch: a task position is "
				           "not an integer >= -1");
			}
			b->pos[m++] = (long)x->valuedouble;
		}
		cJSON_ArrayForEach(x, left) {
			int ai = pb_state_find_arm(st, x->string);
			if (ai < 0 || !isint(x, 0, (double)b->n)) {
				free(left_saved);
				return bad(err, path, "pending batch names an unknown arm");
			}
			if (left_saved[ai]) {
				free(left_saved);
				return bad(err, path, "pending batch names an arm twice in \"left\"");
			}
			left_saved[ai] = (long)x->valuedouble + 1; /* 0: not named */
			out += left_saved[ai] - 1;
		}
		b->capdone = (size_t)cJSON_GetArraySize(done);
		if (b->capdone && !(b->done = malloc(b->capdone * sizeof *b->done))) {
			snprintf(err, PB_ERRLEN, "out of memory");
			return -1;
		}
		prev = b->first - 2;
		cJSON_ArrayForEach(x, done) {
			cJSON *lo = cJSON_GetArrayItem(x, 0), *hi = cJSON_GetArrayItem(x, 1);
			if (!isint(lo, (double)prev + 2, (double)end - 1) ||
			    !isint(hi, lo->valuedouble, (double)end - 1))
				return bad(err, path, "malformed pending batch");
			b->done[b->ndone][0] = (long)lo->valuedouble;
			b->done[b->ndone][1] = prev = (long)hi->valuedouble;
			back += prev - b->done[b->ndone][0] + 1;
			b->ndone++;
		}
		/* left is what arm[] leaves out of done */
		for (m = 0, r = 0; m < b->n; m++) {
			while (r < b->ndone && b->done[r][1] < b->first + m)
				r++;
			if (!(r < b->ndone && b->done[r][0] <= b->first + m))
				b->left[b->arm[m]]++;
		}
		for (r = 0; r < st->narms; r++)
			if (b->left[r] != (left_saved[r] ? left_saved[r] - 1 : 0))
				out = -1;
		free(left_saved);
		if (out + back != b->n)
			return bad(err, path, "pending batch does not add up");
	}
	return 0;
}

/* Cursors and pending pulls within their pools. */
static int
check_tasks(const struct pb_state *st, const char *path, char err[PB_ERRLEN])
{
	size_t i, c, most = st->tasks.n;
	long k;

	for (i = 0; i < st->narms; i++)
		if (st->arms[i].cursor > (long)st->tasks.n)
			return bad(err, path, "an arm's cursor is past the end of its pool");
	for (c = 0; c < st->nctx; c++) {
		if (st->ctx[c].tasks.n > most)
			most = st->ctx[c].tasks.n;
		for (i = 0; i < st->narms; i++)
			if (st->ctx[c].arms[i].cursor > (long)st->ctx[c].tasks.n)
				return bad(err, path, "an arm's cursor is past the end of "
				           "its context's pool");
	}
	for (i = 0; i < st->nbatch; i++)
		for (k = 0; k < st->batch[i].n; k++)
			if (st->batch[i].pos[k] >= (long)most)
				return bad(err, path, "a pending pull's task is not in the pool");
	return 0;
}

/* The state in o; with fast, o is pb__state_read's rest and st holds
 * the arms, pending batches, pairs, tasks and history already. */
static int
parse_state(struct pb_state *st, const cJSON *o, const char *path,
            char err[PB_ERRLEN], int fast)
{
	const char *fmt = pb_json_str(o, "format"), *run = pb_json_str(o, "run");
	cJSON *rng = cJSON_GetObjectItemCaseSensitive(o, "rng"), *x, *m;
	char hwhy[PB_ERRLEN];
	double v;
	int i;

	if (!fmt || strcmp(fmt, PB_STATE_FORMAT))
		return bad(err, path, "no \"format\": \"" PB_STATE_FORMAT "\"");
	if (getnum(o, "version", &v, 1))
		return bad(err, path, "no version");
	if (v == 1) {
		snprintf(err, PB_ERRLEN, "%s: state version 1 comes from before the "
		         "state knew its tasks, so the pulls in it cannot be checked "
		         "against them; start a new state with pb-update --init", path);
		return -1;
	}
	if (v != PB_STATE_VERSION) {
		snprintf(err, PB_ERRLEN, "%s: state version %g is not %d, the "
		         "version this promptbandit reads", path, v, PB_STATE_VERSION);
		return -1;
	}
	if (!run || strlen(run) != 32 || strspn(run, "0123456789abcdef") != 32)
		return bad(err, path, "\"run\" is not 32 hex digits");
	memcpy(st->run, run, 33);
	if (!cJSON_IsObject(x = cJSON_GetObjectItemCaseSensitive(o, "policy")) ||
	    load_policy(&st->pol, x, path, err) < 0)
		return cJSON_IsObject(x) ? -1 : bad(err, path, "no policy");
	if (pb_policy_layout_check(&st->pol, o, path, err) < 0)
		return -1;
	if (cJSON_GetArraySize(rng) != 4 || !cJSON_IsArray(rng))
		return bad(err, path, "\"rng\" is not 4 hex words");
	for (i = 0; i < 4; i++) {
		const char *h = cJSON_GetArrayItem(rng, i)->valuestring;
		char *end;
		if (!h || strlen(h) != 16)
			return bad(err, path, "\"rng\" is not 4 hex words");
		st->rng.s[i] = strtoull(h, &end, 16);
		if (*end)
			return bad(err, path, "\"rng\" is not 4 hex words");
	}
	if (getnum(o, "next_pull", &v, 1) || v < 1 || v != floor(v) || v > PB_MAX_COUNT)
		return bad(err, path, "bad next_pull");
	st->next_pull = (long)v;
	if (getnum(o, "updates", &v, 1) || v != floor(v) || v > PB_MAX_COUNT)
		return bad(err, path, "bad updates");
	st->updates = (long)v;
	if (getnum(o, "pending_ttl", &st->pending_ttl, 1))
		return bad(err, path, "bad pending_ttl");
	if (getnum(o, "created", &st->created, 1))
		st->created = 0;
	st->repeats = 1;
	if (cJSON_GetObjectItemCaseSensitive(o, "repeats")) {
		if (getnum(o, "repeats", &v, 1) || v < 1 || v > PB_MAX_REPEATS || v != floor(v))
			return bad(err, path, "\"repeats\" is not an integer in [1, 1000]");
		st->repeats = (long)v;
	}
	if (!fast && !cJSON_IsArray(x = cJSON_GetObjectItemCaseSensitive(o, "arms")))
		return bad(err, path, "no arms");
	if (!fast && load_arms(st, x, path, err) < 0)
		return -1;
	if (!fast && !cJSON_IsArray(x = cJSON_GetObjectItemCaseSensitive(o, "pending")))
		return bad(err, path, "no pending list");
	if (!fast && load_pending(st, x, path, err) < 0)
		return -1;
	/* contexts before groups, which name them */
	if (pb_pairs_load(st, &st->pair, cJSON_GetObjectItemCaseSensitive(o,
	    "pairs"), hwhy) < 0 || pb_ctx_load(st,
	    cJSON_GetObjectItemCaseSensitive(o, "contexts"), hwhy) < 0 ||
	    pb_groups_load(st, cJSON_GetObjectItemCaseSensitive(o, "groups"),
	    hwhy) < 0)
		return bad(err, path, hwhy);
	m = cJSON_GetObjectItemCaseSensitive(o, "merged");
	st->merged = cJSON_IsArray(m) ? cJSON_Duplicate(m, 1) : cJSON_CreateArray();
	if (!st->merged) {
		snprintf(err, PB_ERRLEN, "out of memory");
		return -1;
	}
	if (!fast && pb_history_from_json(&st->hist, cJSON_GetObjectItemCaseSensitive(o,
	    "history"), hwhy) < 0)
		return bad(err, path, hwhy);
	x = cJSON_GetObjectItemCaseSensitive(o, "tasks");
	if (x && st->ctx_field)
		return bad(err, path, "\"tasks\" beside contexts (each context keeps its own)");
	if (pb_tasks_load(&st->tasks, x, hwhy) < 0)
		return bad(err, path, hwhy);
	return check_tasks(st, path, err);
}

static int load_file(struct pb_state *, FILE *, const char *, char[PB_ERRLEN]);

int
pb_state_load(struct pb_state *st, const char *path, char err[PB_ERRLEN])
{
	return pb_state_load_keep(st, path, NULL, err);
}

int
pb_state_current(int fd, int lockfd)
{
	struct stat a, b;

	/* fd was held open since the load, so its inode cannot have been
	 * freed and reused; a state is replaced, never written in place,
	 * and the times and size catch a hand edit. */
	return fd >= 0 && lockfd >= 0 && fstat(fd, &a) == 0 &&
	       fstat(lockfd, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino && a.st_size == b.st_size &&
	       a.st_mtim.tv_sec == b.st_mtim.tv_sec &&
	       a.st_mtim.tv_nsec == b.st_mtim.tv_nsec &&
	       a.st_ctim.tv_sec == b.st_ctim.tv_sec &&
	       a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

int
pb_state_load_keep(struct pb_state *st, const char *path, int *keep,
                   char err[PB_ERRLEN])
{
	FILE *fp;
	int rv, fd;

	memset(st, 0, sizeof *st);
	if (keep)
		*keep = -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || !(fp = fdopen(fd, "r"))) {
		snprintf(err, PB_ERRLEN, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (keep && (*keep = dup(fd)) < 0) {
		snprintf(err, PB_ERRLEN, "%s: %s", path, strerror(errno));
		fclose(fp);
		return -1;
	}
	if ((rv = load_file(st, fp, path, err)) < 0 && keep) {
		close(*keep);
		*keep = -1;
	}
	return rv;
}

#ifdef PB_STATE_VERIFY
#include <stdio.h>
/* The cJSON loader's reading of buf must print as the fast reader's. */
static void
verify(const struct pb_state *st, const char *buf, size_t len, const char *path)
{
	struct pb_state slow;
	char err[PB_ERRLEN], *a, *b;
	size_t la, lb;
	cJSON *o = cJSON_ParseWithLength(buf, len);

	memset(&slow, 0, sizeof slow);
	if (!o || parse_state(&slow, o, path, err, 0) < 0) {
		fprintf(stderr, "VERIFY: %s: the cJSON loader refuses what the fast reader took\n", path);
		abort();
	}
	a = pb__state_print(st, &la);
	b = pb__state_print(&slow, &lb);
	if (!a || !b || la != lb || memcmp(a, b, la)) {
		fprintf(stderr, "VERIFY: %s: the two readers differ\n", path);
		abort();
	}
	{
		/* and the printer prints the tree pb_state_to_json makes */
		cJSON *mine = cJSON_ParseWithLength(a, la), *tree = pb_state_to_json(st);
		if (!mine || !tree || !cJSON_Compare(mine, tree, 1)) {
			fprintf(stderr, "VERIFY: %s: the printer is not pb_state_to_json\n", path);
			abort();
		}
		cJSON_Delete(mine);
		cJSON_Delete(tree);
	}
	free(a);
	free(b);
	cJSON_Delete(o);
	pb_state_free(&slow);
	if (getenv("PB_VERIFY_LOG")) {
		FILE *fp = fopen(getenv("PB_VERIFY_LOG"), "a");
		if (fp) {
			fprintf(fp, "fast %s\n", path);
			fclose(fp);
		}
	}
}
#endif

/* Reads, parses and validates the state in fp (closed here). */
static int
load_file(struct pb_state *st, FILE *fp, const char *path, char err[PB_ERRLEN])
{
	char *buf = NULL;
	size_t len = 0, cap = 0, r;
	cJSON *o;
	int rv;

	for (;;) {
		if (len + 65536 > cap) {
			char *nb = realloc(buf, cap = 2 * cap + 65536);
			if (!nb) {
				free(buf);
				fclose(fp);
				snprintf(err, PB_ERRLEN, "%s: out of memory", path);
				return -1;
			}
			buf = nb;
		}
		r = fread(buf + len, 1, cap - len - 1, fp);
		len += r;
		if (r == 0)
			break;
	}
	if (ferror(fp)) {
		snprintf(err, PB_ERRLEN, "%s: read error: %s", path, strerror(errno));
		fclose(fp);
		free(buf);
		return -1;
	}
	fclose(fp);
	buf[len] = '\0';
	if (pb__state_read(st, buf, len, &o) == 0) {
		if ((rv = parse_state(st, o, path, err, 1)) == 0) {
			cJSON_Delete(o);
#ifdef PB_STATE_VERIFY /* a build that checks the fast reader (tests) */
			verify(st, buf, len, path);
#endif
			free(buf);
			return 0;
		}
		/* the cJSON loader below says what is wrong */
		cJSON_Delete(o);
		pb_state_free(st);
		memset(st, 0, sizeof *st);
	}
	{
		const char *end = NULL;
		o = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
		if (cJSON_IsObject(o) && end && strspn(end, " \t\r\n") != len - (size_t)(end - buf)) {
			/* one JSON object and a newline: anything after it is a
			 * second state, junk, or a NUL, never to be ignored */
			cJSON_Delete(o);
			free(buf);
			return bad(err, path, "data after the JSON object");
		}
	}
	free(buf);
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return bad(err, path, len == 0 ? "empty file" :
		           "not a JSON object (truncated?)");
	}
	rv = parse_state(st, o, path, err, 0);
#ifdef PB_STATE_VERIFY
	if (getenv("PB_VERIFY_LOG")) {
		FILE *vf = fopen(getenv("PB_VERIFY_LOG"), "a");
		if (vf) {
			fprintf(vf, "slow%s %s\n", rv == 0 ? "-valid" : "-bad", path);
			if (rv == 0) {
				char *t = pb__state_print(st, &len);
				(void)t;
				free(t);
			}
			fclose(vf);
		}
	}
#endif
	cJSON_Delete(o);
	if (rv < 0)
		pb_state_free(st);
	return rv;
}
