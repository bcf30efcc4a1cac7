/* state.c - unit tests: the state file's round trip, validation, lock,
 * pending pulls and merge. */
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

#include "../../lib/pb.h"
#include "tap.h"
#include "mkstate.h"

static char dir[] = "/tmp/pbstateXXXXXX";

int
main(void)
{
	struct pb_state a, b, c;
	char err[PB_ERRLEN], path[256], other[256], bad[256];
	const char *arms = "{\"id\":\"x\",\"prefix\":\"Be X.\"}\n\n{\"id\":\"y\",\"prefix\":\"\"}\n";
	int fd, fd2, rv;
	long p1, p2;

	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	snprintf(path, sizeof path, "%s/state.json", dir);
	snprintf(other, sizeof other, "%s/other.json", dir);
	snprintf(bad, sizeof bad, "%s/bad.json", dir);

	ok(mkstate(&a, arms, "thompson:a=2,b=1", err) == 0, "a state from two arms");
	ok(a.narms == 2 && !strcmp(a.arms[1].id, "y") && a.next_pull == 1,
	   "arms in file order, pulls start at 1");
	ok(strlen(a.run) == 32, "a 32-digit run id");
	ok(mkstate(&b, "{\"id\":\"x\"}\n{\"id\":\"x\"}\n", "ucb1", err) < 0,
	   "duplicate arm ids fail");
	is_str(err, "arms.jsonl:2: duplicate arm id 'x'", "naming the line");
	ok(mkstate(&b, "{\"id\":\"x\"}\n{\"prefix\":\"p\"}\n", "ucb1", err) < 0,
	   "an arm without id fails");
	is_str(err, "arms.jsonl:2: arm has no \"id\" string", "naming the line");
	ok(mkstate(&b, "{\"id\":\"x\"}\nnot json\n", "ucb1", err) < 0, "bad JSON fails");
	is_str(err, "arms.jsonl:2: not valid JSON", "naming the line");
	ok(mkstate(&b, "", "ucb1", err) < 0, "no arms fails");
	is_str(err, "arms.jsonl: no arms", "saying so");

	/* round trip */
	pb_stats_add(&a.arms[0].st, 1);
	pb_stats_add(&a.arms[0].st, 0.25);
	a.arms[1].errors = 3;
	pb_state_begin_batch(&a, 1000.5);
	p1 = pb_state_hand_out(&a, 1);
	pb_state_begin_batch(&a, 1001);
	p2 = pb_state_hand_out(&a, 0);
	pb_state_hand_out(&a, 0);
	pb_state_hand_out(&a, 1);
	a.updates = 5;
	pb_rng_next(&a.rng);
	ok(p1 == 1 && p2 == 2 && a.next_pull == 5, "hand_out numbers pulls");
	ok(pb_state_create(&a, path, err) == 0, "create writes a new file");
	ok(pb_state_create(&a, path, err) < 0, "create refuses an existing file");
	ok(strstr(err, "already exists") != NULL, "saying it exists");
	ok(pb_state_load(&b, path, err) == 0, "load reads it back");
	ok(!strcmp(a.run, b.run) && a.pol.kind == b.pol.kind && b.pol.a0 == 2 &&
	   b.next_pull == 5 && b.updates == 5, "run, policy, counters survive");
	ok(!memcmp(a.rng.s, b.rng.s, sizeof a.rng.s), "the generator's state survives");
	ok(b.arms[0].st.n == 2 && b.arms[0].st.sum == 1.25 &&
	   b.arms[0].st.sumsq == 1.0625 && b.arms[0].st.nonbinary == 1 &&
	   b.arms[1].errors == 3, "statistics survive");
	ok(!strcmp(pb_json_str(b.arms[0].fields, "prefix"), "Be X."), "arm fields survive");
	ok(b.nbatch == 2 && b.batch[0].first == 1 && b.batch[0].n == 1 &&
	   b.batch[0].left[1] == 1 && b.batch[0].t == 1000.5 &&
	   b.batch[1].first == 2 && b.batch[1].n == 3 && b.batch[1].left[0] == 2 &&
	   b.batch[1].left[1] == 1, "pending batches survive");

	/* pending */
	pb_state_count_pending(&b, 1000.5 + 10);
	ok(b.arms[0].pending == 2 && b.arms[1].pending == 2, "fresh pulls are pending");
	pb_state_count_pending(&b, 1000.7 + PB_PENDING_TTL);
	ok(b.arms[0].pending == 2 && b.arms[1].pending == 1,
	   "pulls older than the TTL stop counting");
	ok(pb_state_apply(&b, 5, 0, 1, err) < 0, "a pull never handed out is refused");
	is_str(err, "never handed out by this state", "saying so");
	ok(pb_state_apply(&b, 1, 0, 1, err) < 0, "a pull of an arm with none out is refused");
	is_str(err, "handed out to arm 'y', not 'x'", "saying so");
	ok(pb_state_apply(&b, 3, 0, 1, err) == 0, "apply pull 3");
	ok(pb_state_apply(&b, 3, 0, 1, err) == 1, "pull 3 again is a duplicate");
	ok(pb_state_apply(&b, 2, 0, 0, err) == 0 && b.batch[1].ndone == 1 &&
	   b.batch[1].done[0][0] == 2 && b.batch[1].done[0][1] == 3,
	   "pulls 2 and 3 make one range");
	ok(pb_state_apply(&b, 4, 0, 1, err) < 0, "a third pull of x in a batch with two is refused");
	ok(pb_state_apply(&b, 4, 1, NAN, err) == 0 && b.nbatch == 1 &&
	   b.batch[0].first == 1, "an unscored pull completes its batch, which goes");
	ok(b.arms[1].errors == 4 && b.arms[0].st.n == 4 && b.updates == 8,
	   "rewards and errors counted");
	ok(pb_state_apply(&b, 4, 1, 1, err) == 1, "a pull of a finished batch is a duplicate");
	ok(pb_state_save(&b, path, err) == 0, "save replaces the file");
	pb_state_free(&b);
	ok(pb_state_load(&b, path, err) == 0 && b.nbatch == 1 && b.batch[0].first == 1,
	   "the finished batch is gone from the saved file");
	ok(pb_state_forget(&b, 1000.5 + PB_PENDING_TTL) == 1 && b.nbatch == 0,
	   "forget drops batches past the TTL");
	pb_state_free(&b);

	/* lock */
	fd = pb_state_lock(path, err);
	ok(fd >= 0, "lock");
	fd2 = open(path, O_RDONLY);
	rv = flock(fd2, LOCK_EX | LOCK_NB);
	ok(rv < 0 && errno == EWOULDBLOCK, "a second lock waits while it is held");
	pb_state_unlock(fd);
	ok(flock(fd2, LOCK_EX | LOCK_NB) == 0, "and gets it once released");
	close(fd2);
	ok(pb_state_lock(other, err) < 0 && strstr(err, "No such file"),
	   "locking a missing file fails");

	/* validation */
	writefile(bad, "{\"format\":\"promptbandit-state\",\"version\":1,\"run\":");
	ok(pb_state_load(&b, bad, err) < 0, "a truncated state fails");
	ok(strstr(err, "not a valid state file: not a JSON object (truncated?)") != NULL,
	   "saying so: %s", err);
	writefile(bad, "{\"hello\":1}");
	ok(pb_state_load(&b, bad, err) < 0 && strstr(err, "no \"format\""),
	   "a JSON file that is not a state fails");
	writefile(bad, "");
	ok(pb_state_load(&b, bad, err) < 0 && strstr(err, "empty file"), "an empty file fails");
	{
		cJSON *o = pb_state_to_json(&a);
		char *s;
		cJSON_ReplaceItemInObject(o, "version", cJSON_CreateNumber(9));
		s = cJSON_Print(o);
		writefile(bad, s);
		free(s);
		cJSON_Delete(o);
	}
	ok(pb_state_load(&b, bad, err) < 0 && strstr(err, "state version 9"),
	   "a newer version fails: %s", err);
	snprintf(bad, sizeof bad, "%s/missing.json", dir);
	ok(pb_state_load(&b, bad, err) < 0 && strstr(err, "No such file"),
	   "a missing file fails");

	/* merge */
	ok(mkstate(&c, arms, "thompson", err) == 0, "a second run");
	pb_stats_add(&c.arms[0].st, 1);
	c.arms[1].errors = 1;
	c.updates = 2;
	ok(pb_state_create(&c, other, err) == 0, "saved");
	ok(pb_state_load(&b, path, err) == 0, "reload the first");
	ok(pb_state_merge(&b, &c, err) == 0, "merge");
	ok(b.arms[0].st.n == 5 && b.arms[0].st.sum == 3.25 && b.arms[1].errors == 5 &&
	   b.updates == 10, "statistics add up");
	ok(pb_state_merge(&b, &c, err) < 0 && strstr(err, "merged already"),
	   "merging the same run twice fails");
	ok(pb_state_merge(&b, &b, err) < 0 && strstr(err, "into itself"),
	   "merging into itself fails");
	pb_state_free(&c);
	ok(mkstate(&c, "{\"id\":\"x\"}\n{\"id\":\"z\"}\n", "ucb1", err) == 0 &&
	   pb_state_merge(&b, &c, err) < 0 && strstr(err, "same arms"),
	   "merging different arms fails");

	/* every parameter of every policy survives the state file: set
	 * each to a value inside its range that is no default, save, load */
	{
		size_t i, bad_params = 0;
		for (i = 0; i < pb_policy_nparams; i++) {
			const struct pb_policy_param *q = &pb_policy_params[i];
			struct pb_policy pol;
			struct pb_state s1, s2;
			char spec[128], txt[64];
			double v = q->integer ? 7 : isinf(q->hi) ? q->lo + 0.37 :
			           q->lo + 0.37 * (q->hi - q->lo);
			FILE *fp;

			pb_fmt_num(txt, sizeof txt, v);
			snprintf(spec, sizeof spec, "%s:%s=%s", pb_policy_name(q->kind),
			         q->key, txt);
			fp = fmemopen((void *)arms, strlen(arms), "r");
			unlink(bad);
			if (pb_policy_parse(&pol, spec, err) < 0 ||
			    *pb_policy_field(&pol, q) != v ||
			    pb_state_new(&s1, fp, "arms", &pol, 1, err) < 0 ||
			    pb_state_create(&s1, bad, err) < 0 ||
			    pb_state_load(&s2, bad, err) < 0) {
				printf("# %s: %s\n", spec, err);
				bad_params++;
			} else {
				if (*pb_policy_field(&s2.pol, q) != v ||
				    s2.pol.kind != q->kind) {
					printf("# %s: loaded as %g\n", spec,
					     *pb_policy_field(&s2.pol, q));
					bad_params++;
				}
				pb_state_free(&s1);
				pb_state_free(&s2);
			}
			fclose(fp);
		}
		ok(bad_params == 0 && pb_policy_nparams >= 16,
		   "each of the %zu policy parameters round-trips through the "
		   "state file", pb_policy_nparams);
	}

	pb_state_free(&a);
	pb_state_free(&b);
	pb_state_free(&c);
	unlink(path);
	unlink(other);
	snprintf(bad, sizeof bad, "%s/bad.json", dir);
	unlink(bad);
	rmdir(dir);
	return tap_done();
}
