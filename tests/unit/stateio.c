/* stateio.c - unit tests of the state file's fast reader and printer
 * (stateread.c, stateprint.c): what the fast reader takes it reads as the
 * cJSON loader does, field for field (compared through the printer, which
 * prints every saved field); what it does not take, the cJSON loader
 * judges, with the same message either way; a save round-trips byte for
 * byte; numbers read back exactly; the printer prints the tree
 * pb_state_to_json makes. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <fcntl.h>

#include "tap.h"
#include "../../lib/pb.h"
#include "../../lib/internal.h"
#include "mkstate.h"

static char dir[] = "/tmp/pbstateioXXXXXX";

static char *
slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *s;
	long n;

	if (!fp)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	s = malloc((size_t)n + 1);
	s[fread(s, 1, (size_t)n, fp)] = '\0';
	fclose(fp);
	return s;
}

/* Loads path with the fast reader on and off: both succeed and print
 * alike, or both fail with the same message.  Returns the printed state
 * (malloc'd) or NULL. */
static char *
both(const char *path, const char *what, int want_ok)
{
	struct pb_state a, b;
	char ea[PB_ERRLEN] = "", eb[PB_ERRLEN] = "", *ta = NULL, *tb = NULL;
	size_t la = 0, lb = 0;
	int ra, rb;

	pb__state_slow = 0;
	ra = pb_state_load(&a, path, ea);
	pb__state_slow = 1;
	rb = pb_state_load(&b, path, eb);
	pb__state_slow = 0;
	ok(ra == rb && (ra == 0) == want_ok, "%s: %s by both readers", what,
	   want_ok ? "read" : "refused");
	if (ra < 0 || rb < 0) {
		is_str(ea, eb, "%s: the same message", what);
		if (ra == 0)
			pb_state_free(&a);
		if (rb == 0)
			pb_state_free(&b);
		return NULL;
	}
	{
		size_t k, np = pb_state_npairs(&a);
		int same = np == pb_state_npairs(&b), i, j, i2, j2;
		for (k = 0; same && k < np; k++) {
			const struct pb_pair *pa = pb_state_pair_at(&a, k, &i, &j),
			                     *pb = pb_state_pair_at(&b, k, &i2, &j2);
			same = i == i2 && j == j2 && !memcmp(pa->lm, pb->lm, sizeof pa->lm);
		}
		ok(same, "%s: the same pairs and martingales (%zu pairs)", what, np);
	}
	ta = pb__state_print(&a, &la);
	tb = pb__state_print(&b, &lb);
	ok(ta && tb && la == lb && !memcmp(ta, tb, la), "%s: the two readers agree "
	   "on every field", what);
	{
		cJSON *mine = cJSON_Parse(ta), *tree = pb_state_to_json(&a);
		ok(mine && tree && cJSON_Compare(mine, tree, 1), "%s: the printer prints "
		   "pb_state_to_json's tree", what);
		cJSON_Delete(mine);
		cJSON_Delete(tree);
	}
	pb_state_free(&a);
	pb_state_free(&b);
	free(tb);
	return ta;
}

/* Saves the state at path twice (load, save, load, save) and checks the
 * second save is the first, byte for byte. */
static void
resave(const char *path, const char *what)
{
	struct pb_state st;
	char err[PB_ERRLEN], *before, *after;

	ok(pb_state_load(&st, path, err) == 0 && pb_state_save(&st, path, err) == 0,
	   "%s: loaded and saved", what);
	pb_state_free(&st);
	before = slurp(path);
	ok(pb_state_load(&st, path, err) == 0 && pb_state_save(&st, path, err) == 0,
	   "%s: loaded and saved again", what);
	pb_state_free(&st);
	after = slurp(path);
	ok(before && after && !strcmp(before, after), "%s: a save of a load is the "
	   "same file, byte for byte", what);
	free(before);
	free(after);
}

static const char good[] =
    "{\"format\":\"promptbandit-state\",\"version\":2,"
    "\"run\":\"0123456789abcdef0123456789abcdef\",\"created\":1700000000.25,"
    "\"policy\":{\"name\":\"thompson\",\"a0\":1,\"b0\":1},"
    "\"rng\":[\"0000000000000001\",\"0000000000000002\",\"0000000000000003\",\"00000000000000ff\"],"
    "\"next_pull\":7,\"updates\":4,\"pending_ttl\":900,\"repeats\":1,"
    "\"arms\":[{\"id\":\"a\",\"pulls\":3,\"mean\":0.9,\"sum\":2.7,\"sumsq\":2.43,"
    "\"nonbinary\":3,\"errors\":1,\"cursor\":3,\"prompt_tokens\":12,\"completion_tokens\":3.5,"
    "\"fields\":{\"id\":\"a\",\"prefix\":\"Be \\\"A\\\".\\n\",\"n\":[1,2.5,null,true]}},"
    "{\"id\":\"b\",\"pulls\":1,\"mean\":1,\"sum\":1,\"sumsq\":1,\"nonbinary\":0,"
    "\"errors\":0,\"cursor\":2,\"retired\":true,\"fields\":{\"id\":\"b\"}}],"
    "\"pending\":[{\"first\":5,\"n\":2,\"t\":1700000001.5,\"left\":{\"a\":1},"
    "\"arms\":[0,1],\"tasks\":[3,-1],\"done\":[[6,6]]}],"
    "\"merged\":[\"fedcba9876543210fedcba9876543210\"],"
    "\"pairs\":[{\"arms\":[\"a\",\"b\"],\"tasks\":2,\"sum\":-0.25,\"sumsq\":0.3125,"
    "\"wins\":0,\"losses\":2,\"fractional\":[0,2,-0.25,0.3125]}],"
    "\"tasks\":[[\"t1\",\"00000000000000aa\"],[\"t2\",\"0123456789abcdef\"],"
    "[\"t3\",\"ffffffffffffffff\"],[\"t4\",\"1000000000000000\"]],"
    "\"history\":{\"stride\":1,\"updates\":[1,3],\"arms\":{\"a\":{\"pulls\":[1,3],"
    "\"mean\":[1,0.9],\"var\":[null,0.01],\"prob\":[0.5,0.6]},\"b\":{\"pulls\":[0,1],"
    "\"mean\":[0,1],\"prob\":[0.5,0.4]}}}}\n";

/* good with the first `from` replaced by `to` */
static void
variant(const char *path, const char *from, const char *to)
{
	char *s = malloc(sizeof good + strlen(to)), *at = strstr(good, from);

	if (!at) {
		printf("# no '%s' in the good state\n", from);
		strcpy(s, good);
	} else {
		memcpy(s, good, (size_t)(at - good));
		strcpy(s + (at - good), to);
		strcat(s, at + strlen(from));
	}
	writefile(path, s);
	free(s);
}

/* Bad states and odd ones: each reader gives the same answer. */
static const struct {
	const char *from, *to, *what;
	int ok;
} cases[] = {
	{ "\"t2\",\"0123456789abcdef\"", "\"t1\",\"0123456789abcdef\"", "a duplicate task", 0 },
	{ "\"t2\",\"0123456789abcdef\"", "\"t2\",\"0123456789ABCDEF\"", "an upper-case digest", 0 },
	{ "\"t2\",\"0123456789abcdef\"", "\"t\\\"2\",\"0123456789abcdef\"", "a task id with an escape", 1 },
	{ "\"t2\",\"0123456789abcdef\"", "\"t2\",\"0123456789abcdef\",3", "a task of three", 0 },
	{ "{\"id\":\"b\",", "{\"id\":\"a\",", "a duplicate arm", 0 },
	{ "\"sum\":2.7,", "\"sum\":3.7,", "a sum past the pulls", 0 },
	{ "\"sum\":2.7,", "\"sum\":2.7,\"colour\":\"red\",", "an arm member the loader ignores", 1 },
	{ "\"mean\":0.9,", "\"mean\":\"high\",", "a mean that is not a number", 1 },
	{ "\"mean\":0.9,", "", "no mean", 1 },
	{ "\"cursor\":3,", "\"cursor\":3.5,", "a fractional cursor", 0 },
	{ "\"cursor\":3,", "\"cursor\":9,", "a cursor past the pool", 0 },
	{ "\"pulls\":3,", "\"pulls\":03,", "a number with a leading zero (cJSON takes it)", 1 },
	{ "\"pulls\":3,", "\"pulls\":3.0e0,", "a count written 3.0e0", 1 },
	{ "\"pulls\":3,", "\"pulls\":3 , ", "white space around a comma", 1 },
	{ "\"retired\":true", "\"retired\":1", "retired not a boolean", 0 },
	{ "\"arms\":[\"a\",\"b\"]", "\"arms\":[\"b\",\"a\"]", "a pair out of order", 0 },
	{ "\"arms\":[\"a\",\"b\"]", "\"arms\":[\"a\",\"c\"]", "a pair of an unknown arm", 0 },
	{ "\"wins\":0,\"losses\":2", "\"wins\":1,\"losses\":2", "wins and losses past the tasks", 0 },
	{ "\"fractional\":[0,2,-0.25,0.3125]", "\"fractional\":[0,2,-0.25]", "a short fractional", 0 },
	{ "\"fractional\":[0,2,-0.25,0.3125]", "\"fractional\":[0,2,-9,0.3125]", "a fractional sum too big", 0 },
	{ "\"policy\":{\"name\":\"thompson\",\"a0\":1,\"b0\":1}", "\"policy\":{\"name\":\"nope\"}", "an unknown policy", 0 },
	{ "\"name\":\"thompson\"", "\"name\":\"race\"", "race with no policy_state", 1 },
	{ "\"cursor\":3,", "\"cursor\":3,\"policy_state\":[1,2],", "a policy_state the policy has no room for", 0 },
	{ "\"version\":2", "\"version\":3", "version 3", 0 },
	{ "\"version\":2", "\"version\":1", "version 1", 0 },
	{ "\"updates\":[1,3]", "\"updates\":[3,1]", "history updates decreasing", 0 },
	{ "\"updates\":[1,3]", "\"updates\":[1,null]", "a null update", 0 },
	{ "\"mean\":[0,1],", "\"mean\":[0],", "a short history series", 0 },
	{ "\"var\":[null,0.01],", "\"var\":[null,1e999],", "an infinite history number", 0 },
	{ "\"b\":{\"pulls\":[0,1],\"mean\":[0,1],\"prob\":[0.5,0.4]}",
	  "\"b\":{\"at\":[1],\"pulls\":[1],\"mean\":[1],\"prob\":[0.4]}", "a sparse series", 1 },
	{ "\"b\":{\"pulls\":[0,1],\"mean\":[0,1],\"prob\":[0.5,0.4]}",
	  "\"b\":{\"at\":[1,1],\"pulls\":[1,1],\"mean\":[1,1],\"prob\":[0.4,0.4]}", "a sparse series, at repeated", 0 },
	{ "\"b\":{\"pulls\":[0,1],\"mean\":[0,1],\"prob\":[0.5,0.4]}",
	  "\"a\":{\"pulls\":[0,1],\"mean\":[0,1],\"prob\":[0.5,0.4]}", "a history arm twice", 0 },
	{ "\"stride\":1,", "\"stride\":0,", "a stride of 0", 0 },
	{ "\"left\":{\"a\":1}", "\"left\":{\"b\":1}", "a pending batch that does not add up", 0 },
	{ "\"tasks\":[3,-1]", "\"tasks\":[9,-1]", "a pending task past the pool", 0 },
	{ "\"n\":2,", "\"n\":2,\"k\":2,", "a pending group of two", 1 },
	{ "\"n\":2,", "\"n\":2,\"k\":3,", "a pending k that does not divide n", 0 },
	{ "\"first\":5,", "\"first\":7,", "a pending batch past next_pull", 0 },
	{ "\"done\":[[6,6]]", "\"done\":[[5,6]]", "a batch all back but its left", 0 },
	{ "\"done\":[[6,6]]", "\"done\":[[6,6,9]]", "a done range of three numbers (cJSON takes it)", 1 },
	{ "\"left\":{\"a\":1}", "\"left\":{\"a\":1,\"a\":1}", "an arm twice in left", 0 },
	{ "\"left\":{\"a\":1}", "\"left\":{\"a\":null}", "a null in left", 0 },
	{ "\"arms\":[0,1]", "\"arms\":[0,2]", "a pending arm past the arms", 0 },
	{ "\"t\":1700000001.5", "\"t\":\"x\"", "a pending time that is not a number", 0 },
	{ "\"repeats\":1,", "\"repeats\":2,", "repeats 2 and a batch of k 1", 0 },
	{ "\"pending\":[", "\"pendings\":[", "no pending list", 0 },
	{ "\"repeats\":1,", "\"repeats\":1,\"repeats\":2,", "a member twice", 1 },
	{ "\"merged\":[", "\"arms\":[],\"merged\":[", "arms twice (the first counts)", 1 },
	{ "\"format\"", "\"arms\":[],\"format\"", "arms twice, the first empty", 0 },
	{ "}}}}\n", "}}}}\n{}", "data after the object", 0 },
	{ "}}}}\n", "}}}", "a truncated file", 0 },
	{ "\"tasks\":[[\"t1\"", "\"contexts\":{\"field\":\"c\",\"values\":[]},\"tasks\":[[\"t1\"",
	  "tasks beside contexts", 0 },
};

int
main(void)
{
	char path[300], what[200], err[PB_ERRLEN], *t;
	struct pb_state st;
	size_t i, n;

	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	snprintf(path, sizeof path, "%s/state.json", dir);

	writefile(path, good);
	t = both(path, "a state of every part", 1);
	ok(t && strstr(t, "\"prefix\":\"Be \\\"A\\\".\\n\"") &&
	   strstr(t, "\"completion_tokens\":3.5") && strstr(t, "\"var\":[null,0.01]"),
	   "escapes, fractions and nulls printed as they were");
	free(t);
	resave(path, "a state of every part");
	ok(pb_state_load(&st, path, err) == 0 && st.tasks.n == 4 &&
	   st.tasks.dig[2] == 0xffffffffffffffffULL && st.tasks.dig[3] == 0x1000000000000000ULL &&
	   pb_tasks_find(&st.tasks, "t3") == 2 && st.arms[1].retired &&
	   st.arms[0].tok_out == 3.5 && st.pair && pb_state_npairs(&st) == 1 &&
	   st.hist && st.hist->n == 2 && isnan(st.hist->ser[0].var[0]),
	   "the fast reader's state: tasks, digests, retired, tokens, pairs, history");
	pb_state_free(&st);

	for (i = 0; i < sizeof cases / sizeof *cases; i++) {
		variant(path, cases[i].from, cases[i].to);
		snprintf(what, sizeof what, "%s", cases[i].what);
		free(both(path, what, cases[i].ok));
	}

	/* a state made by the library: 100 arms of race (a sparse history),
	 * tasks, groups handed out and applied, graded rewards */
	{
		static char arms[100 * 40];
		char *ids[300], idbuf[300][8], e2[PB_ERRLEN];
		uint64_t dig[300];
		long pos[300], first;
		int sel[100], k, j;
		size_t off = 0;

		for (k = 0; k < 100; k++)
			off += (size_t)snprintf(arms + off, sizeof arms - off,
			                        "{\"id\":\"arm%d\",\"prefix\":\"P%d\"}\n", k, k);
		ok(mkstate(&st, arms, "race", err) == 0, "100 arms of race");
		for (k = 0; k < 300; k++) {
			snprintf(idbuf[k], sizeof idbuf[k], "q%d", k);
			ids[k] = idbuf[k];
			dig[k] = (uint64_t)k * 0x9e3779b97f4a7c15ULL;
		}
		pb_state_learn(&st, -1, 300, ids, dig, pos);
		for (k = 0; k < 30; k++) {
			int m = pb_state_choose(&st, -1, 8, NULL, sel);
			long p = pb_state_next_pos(&st, -1, sel, (size_t)m, NULL);
			pb_state_begin_batch(&st, 1e9 + k);
			first = pb_state_hand_out_group(&st, -1, p, sel, (size_t)m);
			for (j = 0; j < m - (k % 3 == 0); j++)
				pb_state_apply(&st, first + j, sel[j],
				               k % 2 ? (j % 3) / 2.0 : 0.1 * j, e2);
		}
		pb_history_take(&st);
		st.arms[5].st.sum = 0.1 + 0.2; /* 0.30000000000000004 */
		st.arms[5].st.n = 1;
		ok(pb_state_save(&st, path, err) == 0, "saved");
		pb_state_free(&st);
		t = both(path, "a race of 100 arms", 1);
		free(t);
		resave(path, "a race of 100 arms");
		ok(pb_state_load(&st, path, err) == 0 && st.arms[5].st.sum == 0.1 + 0.2 &&
		   st.hist && st.hist->nser == 100 && pb_state_npairs(&st) > 0,
		   "0.1 + 0.2 reads back exactly; 100 series, pairs");
		n = pb_state_npairs(&st);
		pb_state_free(&st);
		ok(n > 0, "%zu pairs", n);
	}
	/* a state with contexts, each its own arms' statistics, pairs and
	 * pool, and a history of each */
	{
		static const char *cn[2] = { "math", "misc" };
		char *ids[6] = { "q1", "q2", "q3", "q4", "q5", "q6" }, e2[PB_ERRLEN];
		uint64_t dig[6] = { 11, 12, 13, 14, 15, 16 };
		long pos[6], first;
		int two[2] = { 0, 2 }, c, k;

		ok(mkstate(&st, "{\"id\":\"a\"}\n{\"id\":\"b\"}\n{\"id\":\"c\"}\n",
		           "uniform", err) == 0, "three arms");
		st.ctx_field = strdup("domain");
		for (c = 0; c < 2; c++) {
			pb_state_add_ctx(&st, cn[c]);
			pb_state_learn(&st, c, 6, ids, dig, pos);
		}
		for (k = 0; k < 4; k++) {
			c = k % 2;
			pb_state_begin_batch(&st, 1e9 + k);
			first = pb_state_hand_out_group(&st, c,
			    pb_state_next_pos(&st, c, two, 2, NULL), two, 2);
			pb_state_apply_ctx(&st, first, 0, 0.25 * k, cn[c], e2);
			if (k < 3)
				pb_state_apply_ctx(&st, first + 1, 2, 1, cn[c], e2);
		}
		pb_history_take(&st);
		ok(pb_state_save(&st, path, err) == 0, "saved, with contexts");
		pb_state_free(&st);
		free(both(path, "a state with contexts", 1));
		resave(path, "a state with contexts");
		ok(pb_state_load(&st, path, err) == 0 && st.nctx == 2 && st.ctx[1].tasks.n == 6 &&
		   st.ctx[0].arms[0].st.n == 2 && st.hist && st.hist->nctx == 2,
		   "contexts read: pools, arms, histories");
		pb_state_free(&st);
	}

	/* pb__state_write: the printer's text, a megabyte at a time */
	{
		enum { NT = 60000 };
		static char idbuf[NT][12];
		static char *ids[NT];
		static uint64_t dig[NT];
		static long pos[NT];
		char *text, *file;
		size_t len;
		int fd, k, rv;

		ok(mkstate(&st, "{\"id\":\"x\"}\n{\"id\":\"y\"}\n", "thompson", err) == 0,
		   "a state of two arms");
		for (k = 0; k < NT; k++) {
			snprintf(idbuf[k], sizeof idbuf[k], "task-%d", k);
			ids[k] = idbuf[k];
			dig[k] = (uint64_t)k * 0x9e3779b97f4a7c15ULL;
		}
		pb_state_learn(&st, -1, NT, ids, dig, pos);
		text = pb__state_print(&st, &len);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		rv = pb__state_write(&st, fd);
		close(fd);
		file = slurp(path);
		ok(rv == 0 && text && len > 1048576 && file && strlen(file) == len + 1 &&
		   !memcmp(file, text, len) && file[len] == '\n',
		   "a %zu-byte state written in chunks is the printed text and a newline", len);
		fd = open("/dev/full", O_WRONLY);
		if (fd >= 0) {
			errno = 0;
			rv = pb__state_write(&st, fd);
			ok(rv == -2 && errno == ENOSPC, "a full disk: -2, ENOSPC");
			close(fd);
		} else {
			ok(1, "# SKIP no /dev/full");
		}
		free(text);
		free(file);
		pb_state_free(&st);
		ok(pb_state_load(&st, path, err) == 0 && st.tasks.n == NT &&
		   pb_tasks_find(&st.tasks, "task-59999") >= 0, "%d tasks read back", NT);
		pb_state_free(&st);
	}
	unlink(path);
	rmdir(dir);
	return tap_done();
}
