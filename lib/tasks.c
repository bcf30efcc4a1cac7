/* tasks.c - the task pool: which tasks the state knows, in one seeded
 * random order, with a hash index from id to position; how far each arm
 * has walked the order (its cursor) is state.c's.
 *
 * The unit of evidence is the task.  An arm's rewards are an iid sample
 * of the task population only if the arm never sees a task twice and the
 * tasks it sees are a random subset drawn independently of the outcomes.
 * So the state keeps, per pool (the state's, or each context's), the
 * tasks in a random order drawn with the state's generator, and each arm
 * a cursor into that order: every position below the cursor the arm has
 * used or passed over, and it will never be handed one of them again.
 * Two arms walking the same order share a prefix of common tasks, so
 * their rewards pair up for free.  The state grows with arms + tasks,
 * never arms x tasks. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bandit.h"
#include "internal.h"

void
pb_tasks_free(struct pb_tasks *t)
{
	while (t->arena) {
		char *prev;
		memcpy(&prev, t->arena, sizeof prev);
		free(t->arena);
		t->arena = prev;
	}
	free(t->id);
	free(t->dig);
	free(t->ht);
	memset(t, 0, sizeof *t);
}

static uint64_t
idhash(const char *id, size_t len)
{
	return pb_hash(id, len, 0x7a5c);
}

/* A slot of the index holds position + 1 in its low 40 bits and the top
 * 24 bits of the id's hash above them, so a probe reads the id's text
 * (two cache misses away) only when the tags agree. */
#if SIZE_MAX > 0xffffffffu
#define POSBITS 40
#define SLOT(pos, hash) (((size_t)(pos) + 1) | ((size_t)((hash) >> POSBITS) << POSBITS))
#define SLOTPOS(v) (((v) & (((size_t)1 << POSBITS) - 1)) - 1)
#define SLOTTAG(v) ((v) >> POSBITS)
#else /* no room for a tag */
#define POSBITS 64
#define SLOT(pos, hash) ((size_t)(pos) + 1)
#define SLOTPOS(v) ((v) - 1)
#define SLOTTAG(v) 0
#endif

/* Rebuilds the hash index at a capacity of at least 2 n (power of 2). */
static int
rehash(struct pb_tasks *t, size_t want)
{
	size_t cap = 16, i, h;
	size_t *ht;

	while (cap < 2 * want)
		cap *= 2;
	if (cap == t->htcap) /* a reindex: the same table, cleared */
		ht = memset(t->ht, 0, cap * sizeof *ht);
	else if (!(ht = calloc(cap, sizeof *ht)))
		return -1;
	for (i = 0; i < t->n; i++) {
		uint64_t x = idhash(t->id[i], strlen(t->id[i]));
		for (h = (size_t)x & (cap - 1); ht[h]; h = (h + 1) & (cap - 1))
			;
		ht[h] = SLOT(i, x);
	}
	if (ht != t->ht)
		free(t->ht);
	t->ht = ht;
	t->htcap = cap;
	return 0;
}

int
pb__tasks_reindex(struct pb_tasks *t)
{
	return rehash(t, t->n);
}

int
pb__tasks_reserve(struct pb_tasks *t, size_t n)
{
	if (n <= t->cap)
		return 0;
	{
		char **ni = realloc(t->id, n * sizeof *ni);
		uint64_t *nd;
		if (!ni)
			return -1;
		t->id = ni;
		if (!(nd = realloc(t->dig, n * sizeof *nd)))
			return -1;
		t->dig = nd;
		t->cap = n;
	}
	return 2 * n > t->htcap ? rehash(t, n) : 0;
}

long
pb_tasks_findn(const struct pb_tasks *t, const char *id, size_t len)
{
	uint64_t x;
	size_t h, tag;

	if (!t->htcap)
		return -1;
	x = idhash(id, len);
	tag = POSBITS < 64 ? (size_t)(x >> (POSBITS % 64)) : 0;
	for (h = (size_t)x & (t->htcap - 1); t->ht[h]; h = (h + 1) & (t->htcap - 1)) {
		const char *s;
		if (SLOTTAG(t->ht[h]) != tag)
			continue;
		s = t->id[SLOTPOS(t->ht[h])];
		if (!memcmp(s, id, len) && s[len] == '\0')
			return (long)SLOTPOS(t->ht[h]);
	}
	return -1;
}

long
pb_tasks_find(const struct pb_tasks *t, const char *id)
{
	return pb_tasks_findn(t, id, strlen(id));
}

/* A copy of the n bytes at s and a NUL in t's arena: a pool of 100,000
 * tasks is a few dozen mallocs rather than 100,000. */
static char *
arena_copy(struct pb_tasks *t, const char *s, size_t n)
{
	enum { CHUNK = 65536, HEAD = sizeof(char *) };
	char *c;

	if (n + 1 > t->arena_left) {
		size_t sz = n + 1 + HEAD > CHUNK ? n + 1 + HEAD : CHUNK;
		if (!(c = malloc(sz)))
			return NULL;
		memcpy(c, &t->arena, sizeof t->arena);
		t->arena = c;
		t->arena_left = sz - HEAD;
	}
	/* the free bytes are HEAD .. HEAD + arena_left: take the last ones */
	c = t->arena + HEAD + t->arena_left - (n + 1);
	memcpy(c, s, n);
	c[n] = '\0';
	t->arena_left -= n + 1;
	return c;
}

int
pb_tasks_add(struct pb_tasks *t, const char *id, uint64_t dig)
{
	return pb_tasks_addn(t, id, strlen(id), dig);
}

/* Appends id unless t holds it (1), in one walk of the index. */
static int
add(struct pb_tasks *t, const char *id, size_t len, uint64_t dig, int unique)
{
	uint64_t x;
	size_t h, tag;

	if (t->n == t->cap) {
		size_t ncap = t->cap ? 2 * t->cap : 64;
		char **ni = realloc(t->id, ncap * sizeof *ni);
		uint64_t *nd;
		if (!ni)
			return -1;
		t->id = ni;
		if (!(nd = realloc(t->dig, ncap * sizeof *nd)))
			return -1;
		t->dig = nd;
		t->cap = ncap;
	}
	if (2 * (t->n + 1) > t->htcap && rehash(t, t->n + 1) < 0)
		return -1;
	x = idhash(id, len);
	tag = POSBITS < 64 ? (size_t)(x >> (POSBITS % 64)) : 0;
	for (h = (size_t)x & (t->htcap - 1); t->ht[h]; h = (h + 1) & (t->htcap - 1)) {
		const char *s;
		if (!unique || SLOTTAG(t->ht[h]) != tag)
			continue;
		s = t->id[SLOTPOS(t->ht[h])];
		if (!memcmp(s, id, len) && s[len] == '\0')
			return 1;
	}
	if (!(t->id[t->n] = arena_copy(t, id, len)))
		return -1;
	t->dig[t->n] = dig;
	t->ht[h] = SLOT(t->n, x);
	t->n++;
	return 0;
}

int
pb_tasks_addn(struct pb_tasks *t, const char *id, size_t len, uint64_t dig)
{
	return add(t, id, len, dig, 0);
}

int
pb__tasks_add_new(struct pb_tasks *t, const char *id, size_t len, uint64_t dig)
{
	return add(t, id, len, dig, 1);
}

/* ----------------------------------------------------------- identity */

char *
pb_task_key(const cJSON *task, const char *input, uint64_t *dig, char err[PB_ERRLEN])
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(task, "id");
	char buf[64];

	*dig = pb_hash(input, strlen(input), 0xd16e57);
	if (!id) {
		snprintf(buf, sizeof buf, "#%016" PRIx64, pb_hash(input, strlen(input), 1));
		return strdup(buf);
	}
	if (cJSON_IsString(id) && *id->valuestring)
		return strdup(id->valuestring);
	if (cJSON_IsNumber(id) && id->valuedouble == (double)(long long)id->valuedouble &&
	    id->valuedouble > -9e15 && id->valuedouble < 9e15) {
		snprintf(buf, sizeof buf, "%lld", (long long)id->valuedouble);
		return strdup(buf);
	}
	snprintf(err, PB_ERRLEN, "task \"id\" is not a non-empty string or an integer");
	return NULL;
}

/* -------------------------------------------------------------- JSON */

cJSON *
pb_tasks_json(const struct pb_tasks *t)
{
	cJSON *arr = cJSON_CreateArray(), *e;
	char hex[17];
	size_t i;

	for (i = 0; arr && i < t->n; i++) {
		e = cJSON_CreateArray();
		snprintf(hex, sizeof hex, "%016" PRIx64, t->dig[i]);
		cJSON_AddItemToArray(e, cJSON_CreateString(t->id[i]));
		cJSON_AddItemToArray(e, cJSON_CreateString(hex));
		cJSON_AddItemToArray(arr, e);
	}
	return arr;
}

int
pb_tasks_load(struct pb_tasks *t, const cJSON *arr, char err[PB_ERRLEN])
{
	const cJSON *e;
	int k = 0;

	if (!arr)
		return 0;
	if (!cJSON_IsArray(arr))
		goto bad;
	cJSON_ArrayForEach(e, arr) {
		const char *id = cJSON_GetStringValue(cJSON_GetArrayItem(e, 0)),
		           *hex = cJSON_GetStringValue(cJSON_GetArrayItem(e, 1));
		char *end;
		uint64_t d;

		if (!cJSON_IsArray(e) || cJSON_GetArraySize(e) != 2 || !id || !*id ||
		    !hex || strlen(hex) != 16 || strspn(hex, "0123456789abcdef") != 16)
			goto bad;
		d = strtoull(hex, &end, 16);
		if (pb_tasks_find(t, id) >= 0) {
			snprintf(err, PB_ERRLEN, "tasks[%d]: duplicate task id '%s'", k, id);
			return -1;
		}
		if (pb_tasks_add(t, id, d) < 0) {
			snprintf(err, PB_ERRLEN, "out of memory");
			return -1;
		}
		k++;
	}
	return 0;
bad:
	snprintf(err, PB_ERRLEN, "tasks[%d] is malformed (an [id, 16 hex digits] pair)", k);
	return -1;
}
