/* state.c - the state file: load, validate, save atomically, lock, merge.
 * The format is documented in man/pb-state.5; keep the two in step. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pb.h"
#include "internal.h"

void
pb_state_free(struct pb_state *st)
{
	size_t i;

	for (i = 0; i < st->narms; i++) {
		free(st->arms[i].id);
		cJSON_Delete(st->arms[i].fields);
		free(st->arms[i].pstate);
	}
	free(st->arms);
	for (i = 0; i < st->nbatch; i++) {
		free(st->batch[i].left);
		free(st->batch[i].done);
		free(st->batch[i].arm);
		free(st->batch[i].pos);
	}
	free(st->batch);
	cJSON_Delete(st->merged);
	pb_tasks_free(&st->tasks);
	pb_pool_free(st);
	pb_history_free(st->hist);
	memset(st, 0, sizeof *st);
}

int
pb_state_find_arm(const struct pb_state *st, const char *id)
{
	size_t i;

	for (i = 0; i < st->narms; i++)
		if (!strcmp(st->arms[i].id, id))
			return (int)i;
	return -1;
}

/* ---------------------------------------------------------------- new */

struct armload {
	struct pb_state *st;
	char *err;
	size_t cap;
	struct pb_tasks ids; /* the ids so far: duplicates found in O(1) */
};

static int
add_arm(cJSON *rec, const struct pb_where *at, const char *why, void *arg)
{
	struct armload *al = arg;
	struct pb_state *st = al->st;
	const char *id;
	cJSON *idv;
	struct pb_arm *a;

	if (!rec) {
		snprintf(al->err, PB_ERRLEN, "%s:%ld: %s", at->file, at->line, why);
		return 1;
	}
	idv = cJSON_GetObjectItemCaseSensitive(rec, "id");
	id = cJSON_IsString(idv) ? idv->valuestring : NULL;
	if (!id || !*id) {
		snprintf(al->err, PB_ERRLEN, "%s:%ld: arm has no \"id\" string",
		         at->file, at->line);
		cJSON_Delete(rec);
		return 1;
	}
	if (!pb_utf8_valid(id)) {
		snprintf(al->err, PB_ERRLEN, "%s:%ld: arm id is not valid UTF-8 "
		         "(a state file is JSON, which is UTF-8)", at->file, at->line);
		cJSON_Delete(rec);
		return 1;
	}
	if (pb_tasks_find(&al->ids, id) >= 0) {
		snprintf(al->err, PB_ERRLEN, "%s:%ld: duplicate arm id '%s'",
		         at->file, at->line, id);
		cJSON_Delete(rec);
		return 1;
	}
	if (pb_tasks_add(&al->ids, id, 0) < 0) {
		snprintf(al->err, PB_ERRLEN, "out of memory");
		cJSON_Delete(rec);
		return 1;
	}
	if (st->narms == al->cap) {
		size_t ncap = al->cap ? 2 * al->cap : 8;
		struct pb_arm *na = realloc(st->arms, ncap * sizeof *na);
		if (!na) {
			snprintf(al->err, PB_ERRLEN, "out of memory");
			cJSON_Delete(rec);
			return 1;
		}
		st->arms = na;
		al->cap = ncap;
	}
	a = &st->arms[st->narms];
	memset(a, 0, sizeof *a);
	if (!(a->id = strdup(id))) {
		snprintf(al->err, PB_ERRLEN, "out of memory");
		cJSON_Delete(rec);
		return 1;
	}
	a->fields = rec;
	st->narms++;
	return 0;
}

static void
random_run_id(char run[33], uint64_t seed)
{
	struct pb_rng r;
	uint64_t x = seed ^ (uint64_t)(pb_now() * 1e6) ^ ((uint64_t)getpid() << 32);
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		uint64_t u;
		if (read(fd, &u, sizeof u) == (ssize_t)sizeof u)
			x ^= u;
		close(fd);
	}
	pb_rng_seed(&r, x);
	snprintf(run, 33, "%016" PRIx64 "%016" PRIx64, pb_rng_next(&r), pb_rng_next(&r));
}

int
pb_state_new(struct pb_state *st, FILE *arms, const char *name,
             const struct pb_policy *pol, uint64_t seed, char err[PB_ERRLEN])
{
	struct armload al = { st, err, 0, { 0 } };
	int rv;

	memset(st, 0, sizeof *st);
	st->pol = *pol;
	pb_rng_seed(&st->rng, seed);
	st->next_pull = 1;
	st->pending_ttl = PB_PENDING_TTL;
	st->repeats = 1;
	st->created = pb_now();
	random_run_id(st->run, seed);
	if (!(st->merged = cJSON_CreateArray())) {
		snprintf(err, PB_ERRLEN, "out of memory");
		return -1;
	}
	rv = pb_jsonl_each(arms, name, add_arm, &al, NULL, err);
	pb_tasks_free(&al.ids);
	if (rv) {
		pb_state_free(st);
		return -1;
	}
	if (st->narms == 0) {
		snprintf(err, PB_ERRLEN, "%s: no arms", name);
		pb_state_free(st);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------- serialise */

/* The policy and its parameters (pb_policy_params: the parser's table). */
static cJSON *
policy_json(const struct pb_policy *p)
{
	cJSON *o = cJSON_CreateObject();
	struct pb_policy copy = *p;
	size_t i;

	cJSON_AddStringToObject(o, "name", pb_policy_name(p->kind));
	for (i = 0; i < pb_policy_nparams; i++)
		if (pb_policy_params[i].kind == p->kind)
			cJSON_AddNumberToObject(o, pb_policy_params[i].key,
			                        *pb_policy_field(&copy, &pb_policy_params[i]));
	return o;
}

cJSON *
pb_state_to_json(const struct pb_state *st)
{
	cJSON *o = cJSON_CreateObject(), *arr, *a, *p;
	char hex[17];
	size_t i;

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "format", PB_STATE_FORMAT);
	cJSON_AddNumberToObject(o, "version", PB_STATE_VERSION);
	cJSON_AddStringToObject(o, "run", st->run);
	cJSON_AddNumberToObject(o, "created", st->created);
	cJSON_AddItemToObject(o, "policy", policy_json(&st->pol));
	arr = cJSON_AddArrayToObject(o, "rng");
	for (i = 0; i < 4; i++) {
		snprintf(hex, sizeof hex, "%016" PRIx64, st->rng.s[i]);
		cJSON_AddItemToArray(arr, cJSON_CreateString(hex));
	}
	cJSON_AddNumberToObject(o, "next_pull", (double)st->next_pull);
	cJSON_AddNumberToObject(o, "updates", (double)st->updates);
	cJSON_AddNumberToObject(o, "pending_ttl", st->pending_ttl);
	cJSON_AddNumberToObject(o, "repeats", (double)(st->repeats > 0 ? st->repeats : 1));
	arr = cJSON_AddArrayToObject(o, "arms");
	for (i = 0; i < st->narms; i++) {
		const struct pb_arm *arm = &st->arms[i];
		a = cJSON_CreateObject();
		cJSON_AddStringToObject(a, "id", arm->id);
		pb_arm_stats_json(st, arm, a);
		if (arm->retired)
			cJSON_AddBoolToObject(a, "retired", 1);
		cJSON_AddItemToObject(a, "fields", cJSON_Duplicate(arm->fields, 1));
		cJSON_AddItemToArray(arr, a);
	}
	arr = cJSON_AddArrayToObject(o, "pending");
	for (i = 0; i < st->nbatch; i++) {
		const struct pb_batch *b = &st->batch[i];
		cJSON *left, *done, *arms, *tasks;
		size_t k;

		p = cJSON_CreateObject();
		cJSON_AddNumberToObject(p, "first", (double)b->first);
		cJSON_AddNumberToObject(p, "n", (double)b->n);
		if (b->k > 1)
			cJSON_AddNumberToObject(p, "k", (double)b->k);
		cJSON_AddNumberToObject(p, "t", b->t);
		left = cJSON_AddObjectToObject(p, "left");
		for (k = 0; k < st->narms; k++)
			if (b->left[k])
				cJSON_AddNumberToObject(left, st->arms[k].id, (double)b->left[k]);
		arms = cJSON_AddArrayToObject(p, "arms");
		tasks = cJSON_AddArrayToObject(p, "tasks");
		for (k = 0; k < (size_t)b->n; k++) {
			cJSON_AddItemToArray(arms, cJSON_CreateNumber(b->arm[k]));
			cJSON_AddItemToArray(tasks, cJSON_CreateNumber((double)b->pos[k]));
		}
		done = cJSON_AddArrayToObject(p, "done");
		for (k = 0; k < b->ndone; k++) {
			cJSON *r = cJSON_CreateArray();
			cJSON_AddItemToArray(r, cJSON_CreateNumber((double)b->done[k][0]));
			cJSON_AddItemToArray(r, cJSON_CreateNumber((double)b->done[k][1]));
			cJSON_AddItemToArray(done, r);
		}
		cJSON_AddItemToArray(arr, p);
	}
	cJSON_AddItemToObject(o, "merged", cJSON_Duplicate(st->merged, 1));
	if (st->pair)
		cJSON_AddItemToObject(o, "pairs", pb_pairs_json(st, st->pair));
	if (st->nopen)
		cJSON_AddItemToObject(o, "groups", pb_groups_json(st));
	if (st->ctx_field)
		cJSON_AddItemToObject(o, "contexts", pb_ctx_json(st));
	else
		cJSON_AddItemToObject(o, "tasks", pb_tasks_json(&st->tasks));
	if (st->hist)
		cJSON_AddItemToObject(o, "history", pb_history_to_json(st->hist));
	return o;
}

/* Writes the serialised state to a new temp file beside path and syncs it.
 * Returns the open descriptor's name in tmp, or -1 with err set. */
static int
write_temp(const struct pb_state *st, const char *path, char *tmp, size_t n,
           char err[PB_ERRLEN])
{
	cJSON *o;
	char *text;
	size_t len, off = 0;
	mode_t um;
	int fd;

	if (strlen(path) + 12 > n) {
		snprintf(err, PB_ERRLEN, "%s: path too long", path);
		return -1;
	}
	o = pb_state_to_json(st);
	text = o ? cJSON_Print(o) : NULL;
	cJSON_Delete(o);
	if (!text) {
		snprintf(err, PB_ERRLEN, "%s: out of memory", path);
		return -1;
	}
	snprintf(tmp, n, "%s.tmpXXXXXX", path);
	if ((fd = mkstemp(tmp)) < 0) {
		snprintf(err, PB_ERRLEN, "%s: cannot create temp file: %s", path,
		         strerror(errno));
		cJSON_free(text);
		return -1;
	}
	{
		/* a new state is the user's data: 0600 whatever the umask; a
		 * saved one keeps the mode it has */
		struct stat sb;
		um = stat(path, &sb) == 0 ? sb.st_mode & 07777 : 0600;
	}
	len = strlen(text);
	text[len++] = '\n'; /* replaces the terminator; len counts it */
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			goto fail;
		off += (size_t)w;
	}
	if (fchmod(fd, um) < 0 || fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	cJSON_free(text);
	return 0;
fail:
	snprintf(err, PB_ERRLEN, "%s: cannot write state: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	cJSON_free(text);
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

static int
parse_state(struct pb_state *st, const cJSON *o, const char *path,
            char err[PB_ERRLEN])
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
	if (!cJSON_IsArray(x = cJSON_GetObjectItemCaseSensitive(o, "arms")))
		return bad(err, path, "no arms");
	if (load_arms(st, x, path, err) < 0)
		return -1;
	if (!cJSON_IsArray(x = cJSON_GetObjectItemCaseSensitive(o, "pending")))
		return bad(err, path, "no pending list");
	if (load_pending(st, x, path, err) < 0)
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
	if (pb_history_from_json(&st->hist, cJSON_GetObjectItemCaseSensitive(o,
	    "history"), hwhy) < 0)
		return bad(err, path, hwhy);
	x = cJSON_GetObjectItemCaseSensitive(o, "tasks");
	if (x && st->ctx_field)
		return bad(err, path, "\"tasks\" beside contexts (each context keeps its own)");
	if (pb_tasks_load(&st->tasks, x, hwhy) < 0)
		return bad(err, path, hwhy);
	return check_tasks(st, path, err);
}

int
pb_state_load(struct pb_state *st, const char *path, char err[PB_ERRLEN])
{
	FILE *fp;
	char *buf = NULL;
	size_t len = 0, cap = 0, r;
	cJSON *o;
	int rv;

	memset(st, 0, sizeof *st);
	if (!(fp = fopen(path, "r"))) {
		snprintf(err, PB_ERRLEN, "%s: %s", path, strerror(errno));
		return -1;
	}
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
	rv = parse_state(st, o, path, err);
	cJSON_Delete(o);
	if (rv < 0)
		pb_state_free(st);
	return rv;
}

/* ------------------------------------------------------------- pending */

void
pb_state_count_pending(struct pb_state *st, double now)
{
	size_t i, k;

	for (k = 0; k < st->narms; k++)
		st->arms[k].pending = 0;
	for (i = 0; i < st->nbatch; i++)
		if (now - st->batch[i].t < st->pending_ttl)
			for (k = 0; k < st->narms; k++)
				st->arms[k].pending += st->batch[i].left[k];
}

int
pb_state_begin_batch(struct pb_state *st, double now)
{
	struct pb_batch *nb = realloc(st->batch, (st->nbatch + 1) * sizeof *nb);

	if (!nb)
		return -1;
	st->batch = nb;
	nb = &st->batch[st->nbatch];
	memset(nb, 0, sizeof *nb);
	if (!(nb->left = calloc(st->narms ? st->narms : 1, sizeof *nb->left)))
		return -1;
	nb->first = st->next_pull;
	nb->k = 1;
	nb->t = now;
	st->nbatch++;
	return 0;
}

long
pb_state_hand_out(struct pb_state *st, int arm)
{
	struct pb_batch *b = &st->batch[st->nbatch - 1];

	if ((size_t)b->n == b->cap) {
		size_t ncap = b->cap ? 2 * b->cap : 16;
		int *na = realloc(b->arm, ncap * sizeof *na);
		long *np;
		if (!na)
			return -1;
		b->arm = na;
		if (!(np = realloc(b->pos, ncap * sizeof *np)))
			return -1;
		b->pos = np;
		b->cap = ncap;
	}
	b->arm[b->n] = arm;
	b->pos[b->n] = -1;
	b->n++;
	b->left[arm]++;
	st->arms[arm].pending++;
	return st->next_pull++;
}

/* The batch holding pull id, or NULL. */
static struct pb_batch *
find_batch(struct pb_state *st, long id)
{
	size_t lo = 0, hi = st->nbatch;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (st->batch[mid].first + st->batch[mid].n <= id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < st->nbatch && st->batch[lo].first <= id ? &st->batch[lo] : NULL;
}

/* Index of the first range whose hi >= id - 1, where id may join it. */
static size_t
find_range(const struct pb_batch *b, long id)
{
	size_t lo = 0, hi = b->ndone;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (b->done[mid][1] < id - 1)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Adds id (known not to be in b->done) to the ranges. */
static int
mark_done(struct pb_batch *b, long id)
{
	size_t i = find_range(b, id);

	if (i < b->ndone && b->done[i][1] == id - 1) {
		b->done[i][1] = id;
		if (i + 1 < b->ndone && b->done[i + 1][0] == id + 1) {
			b->done[i][1] = b->done[i + 1][1];
			memmove(&b->done[i + 1], &b->done[i + 2],
			        (b->ndone - i - 2) * sizeof *b->done);
			b->ndone--;
		}
		return 0;
	}
	if (i < b->ndone && b->done[i][0] == id + 1) {
		b->done[i][0] = id;
		return 0;
	}
	if (b->ndone == b->capdone) {
		size_t ncap = b->capdone ? 2 * b->capdone : 4;
		long (*nd)[2] = realloc(b->done, ncap * sizeof *nd);
		if (!nd)
			return -1;
		b->done = nd;
		b->capdone = ncap;
	}
	memmove(&b->done[i + 1], &b->done[i], (b->ndone - i) * sizeof *b->done);
	b->done[i][0] = b->done[i][1] = id;
	b->ndone++;
	return 0;
}

static void
drop_batch(struct pb_state *st, struct pb_batch *b)
{
	size_t i = (size_t)(b - st->batch);

	free(b->left);
	free(b->done);
	free(b->arm);
	free(b->pos);
	memmove(b, b + 1, (st->nbatch - i - 1) * sizeof *b);
	st->nbatch--;
}

int
pb_state_apply(struct pb_state *st, long id, int arm, double reward,
               char err[PB_ERRLEN])
{
	return pb_state_apply_ctx(st, id, arm, reward, NULL, err);
}

static int settle(struct pb_state *, long, int, double, const char *, int,
                  char[PB_ERRLEN]);

int
pb_state_apply_ctx(struct pb_state *st, long id, int arm, double reward,
                   const char *ctx, char err[PB_ERRLEN])
{
	return settle(st, id, arm, reward, ctx, 0, err);
}

int
pb_state_release(struct pb_state *st, long id, int arm, const char *ctx,
                 char err[PB_ERRLEN])
{
	return settle(st, id, arm, NAN, ctx, 1, err);
}

/* Applies pull id (released: hands it back, no reward and no error). */
static int
settle(struct pb_state *st, long id, int arm, double reward, const char *ctx,
       int released, char err[PB_ERRLEN])
{
	struct pb_batch *b;
	size_t i, k;
	long out = 0;
	int c;

	if (id < 1 || id >= st->next_pull) {
		snprintf(err, PB_ERRLEN, "never handed out by this state");
		return -1;
	}
	if (!(b = find_batch(st, id)))
		return 1;
	i = find_range(b, id);
	if (i < b->ndone && b->done[i][0] <= id && id <= b->done[i][1])
		return 1;
	if (b->arm[id - b->first] != arm) {
		snprintf(err, PB_ERRLEN, "handed out to arm '%s', not '%s'",
		         st->arms[b->arm[id - b->first]].id, st->arms[arm].id);
		return -1;
	}
	/* Everything that can refuse the pull comes before any change. */
	if ((c = pb__pool_check(st, b->first, b->k, id, ctx, err)) < -1)
		return -1;
	if (mark_done(b, id) < 0 ||
	    pb__pool_apply(st, b->first, b->k, id, arm, reward, c, released) < 0) {
		snprintf(err, PB_ERRLEN, "out of memory");
		return -1;
	}
	b->left[arm]--;
	if (!released) {
		st->updates++;
		pb_history_note(st);
	}
	for (k = 0; k < st->narms; k++)
		out += b->left[k];
	if (out == 0) {
		pb_groups_drop(st, b->first, b->first + b->n - 1);
		drop_batch(st, b);
	}
	return 0;
}

long
pb_state_forget(struct pb_state *st, double now)
{
	long n = 0;
	size_t i = 0, k;

	while (i < st->nbatch) {
		if (now - st->batch[i].t >= st->pending_ttl) {
			for (k = 0; k < st->narms; k++)
				n += st->batch[i].left[k];
			pb_groups_drop(st, st->batch[i].first,
			               st->batch[i].first + st->batch[i].n - 1);
			drop_batch(st, &st->batch[i]);
		} else {
			i++;
		}
	}
	return n;
}

/* --------------------------------------------------------------- merge */

static int
merged_has(const cJSON *arr, const char *run)
{
	const cJSON *x;

	cJSON_ArrayForEach(x, arr)
		if (cJSON_IsString(x) && !strcmp(x->valuestring, run))
			return 1;
	return 0;
}

int
pb_state_merge(struct pb_state *st, const struct pb_state *other,
               char err[PB_ERRLEN])
{
	const cJSON *x;
	size_t i;

	if (!strcmp(st->run, other->run)) {
		snprintf(err, PB_ERRLEN, "cannot merge a state into itself (run %s)",
		         st->run);
		return -1;
	}
	if (merged_has(st->merged, other->run)) {
		snprintf(err, PB_ERRLEN, "run %s was merged already", other->run);
		return -1;
	}
	cJSON_ArrayForEach(x, other->merged)
		if (cJSON_IsString(x) && (merged_has(st->merged, x->valuestring) ||
		    !strcmp(x->valuestring, st->run))) {
			snprintf(err, PB_ERRLEN, "run %s is in both states already",
			         x->valuestring);
			return -1;
		}
	if (st->narms != other->narms)
		goto arms;
	for (i = 0; i < other->narms; i++)
		if (pb_state_find_arm(st, other->arms[i].id) < 0)
			goto arms;
	for (i = 0; i < other->narms; i++) {
		pb_arm_add(&st->arms[pb_state_find_arm(st, other->arms[i].id)],
		           &other->arms[i]);
	}
	if (pb_pool_merge(st, other, err) < 0)
		return -1;
	(void)pb_history_merge(st, other); /* a record for people: never fatal */
	st->updates += other->updates;
	cJSON_AddItemToArray(st->merged, cJSON_CreateString(other->run));
	cJSON_ArrayForEach(x, other->merged)
		cJSON_AddItemToArray(st->merged, cJSON_Duplicate(x, 1));
	return 0;
arms:
	snprintf(err, PB_ERRLEN, "the two states do not have the same arms");
	return -1;
}
