/* judge.c - turning what a program or a judge model says into a reward:
 * values from jq and --cmd programs, verdicts from a judge's reply, and
 * the judge's prompt filled in from a record. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "score.h"

int
pb_reward_value(const cJSON *v, const struct pb_reward_scale *s,
                double *reward, char raw[64], char why[PB_ERRLEN])
{
	char buf[64], *t;
	const char *r;
	double x;

	if (cJSON_IsObject(v)) {
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(v, "reward");

		if (!m) {
			snprintf(why, PB_ERRLEN, "an object without \"reward\"");
			return -1;
		}
		if (cJSON_IsNull(m) && (r = pb_json_str(v, "reason"))) {
			snprintf(why, PB_ERRLEN, "%s", r);
			return -1;
		}
		v = m;
	}
	if (cJSON_IsBool(v)) {
		*reward = cJSON_IsTrue(v);
		if (raw)
			snprintf(raw, 64, "%s", cJSON_IsTrue(v) ? "true" : "false");
		return 0;
	}
	if (!cJSON_IsNumber(v)) {
		if (cJSON_IsNull(v)) {
			snprintf(why, PB_ERRLEN, "null: no reward for this record");
			return -1;
		}
		t = cJSON_PrintUnformatted(v);
		snprintf(why, PB_ERRLEN, "not a number or boolean: %.80s", t ? t : "?");
		cJSON_free(t);
		return -1;
	}
	x = v->valuedouble;
	pb_fmt_num(buf, sizeof buf, x);
	if (raw)
		snprintf(raw, 64, "%s", buf);
	if (s && s->has_scale) {
		if (!(x >= s->lo && x <= s->hi)) {
			snprintf(why, PB_ERRLEN, "%s is outside the scale %g:%g", buf,
			         s->lo, s->hi);
			return -1;
		}
		*reward = (x - s->lo) / (s->hi - s->lo);
		return 0;
	}
	if (!(x >= 0 && x <= 1)) {
		snprintf(why, PB_ERRLEN, "%s is outside [0,1] (give --scale LO:HI "
		         "for another range)", buf);
		return -1;
	}
	*reward = x;
	return 0;
}

int
pb_reward_scale_parse(struct pb_reward_scale *s, const char *spec,
                      char err[PB_ERRLEN])
{
	char *e;
	double lo, hi;

	lo = strtod(spec, &e);
	if (e == spec || *e != ':')
		goto bad;
	spec = e + 1;
	hi = strtod(spec, &e);
	if (e == spec || *e || !isfinite(lo) || !isfinite(hi) || !(lo < hi))
		goto bad;
	s->has_scale = 1;
	s->lo = lo;
	s->hi = hi;
	return 0;
bad:
	snprintf(err, PB_ERRLEN, "not LO:HI with LO < HI");
	return -1;
}

int
pb_judge_scale_parse(struct pb_judge_scale *s, const char *spec,
                     char err[PB_ERRLEN])
{
	char *e;
	long n;

	if (!strcmp(spec, "pass-fail")) {
		s->scale = 0;
		return 0;
	}
	n = strtol(spec, &e, 10);
	if (e == spec || *e || n < 1 || n > 1000) {
		snprintf(err, PB_ERRLEN, "'%s' is neither a number 1-1000 nor "
		         "pass-fail", spec);
		return -1;
	}
	s->scale = (int)n;
	return 0;
}

/* Is the word w (any case) at p, not glued to letters on either side? */
static int
word_is(const char *base, const char *p, const char *w)
{
	size_t n = strlen(w);

	return !strncasecmp(p, w, n) && !isalpha((unsigned char)p[n]) &&
	       (p == base || !isalpha((unsigned char)p[-1]));
}

/* A number at p (digits, optional fraction); its end, or NULL. */
static const char *
num_at(const char *p, double *v)
{
	char *e;

	if (!isdigit((unsigned char)*p))
		return NULL;
	*v = strtod(p, &e);
	return e;
}

int
pb_judge_verdict(const struct pb_judge_scale *s, const char *reply,
                 double *reward, char verdict[64], char why[PB_ERRLEN])
{
	const char *p, *q, *e;
	double v = 0, den = 0, x;
	int found = 0, pass = -1;

	if (s->scale == 0) {
		for (p = reply; *p; p++) {
			if (word_is(reply, p, "pass"))
				pass = 1;
			else if (word_is(reply, p, "fail"))
				pass = 0;
		}
		if (pass < 0) {
			snprintf(why, PB_ERRLEN, "the judge's reply has no PASS or FAIL");
			return -1;
		}
		*reward = pass;
		snprintf(verdict, 64, "%s", pass ? "PASS" : "FAIL");
		return 0;
	}
	/* The last "score" followed by a number wins; else the last N/M. */
	for (p = reply; *p; p++) {
		if (!word_is(reply, p, "score") && !word_is(reply, p, "rating"))
			continue;
		for (q = p + 5 + (tolower((unsigned char)*p) == 'r'); *q &&
		     strchr(" \t*:=_`\"'", *q); q++)
			;
		if ((e = num_at(q, &x))) {
			v = x;
			den = 0;
			while (*e == ' ')
				e++;
			if (*e == '/' && (q = e + 1, 1)) {
				while (*q == ' ')
					q++;
				if (num_at(q, &x))
					den = x;
			} else if (word_is(reply, e, "out of") && num_at(e + 7, &x))
				den = x;
			found = 1;
		}
	}
	if (!found)
		for (p = reply; *p; p++) {
			if (*p != '/' || p == reply || !isdigit((unsigned char)p[-1]) ||
			    !num_at(p + 1, &x))
				continue;
			for (q = p; q > reply && (isdigit((unsigned char)q[-1]) || q[-1] == '.'); q--)
				;
			if (num_at(q, &v)) {
				den = x;
				found = 1;
			}
		}
	if (!found) {
		snprintf(why, PB_ERRLEN, "the judge's reply has no score");
		return -1;
	}
	if (den > 0 && den != s->scale) {
		snprintf(why, PB_ERRLEN, "the judge scored out of %g, not %d", den,
		         s->scale);
		return -1;
	}
	if (!(v >= 0 && v <= s->scale)) {
		snprintf(why, PB_ERRLEN, "the judge's score %g is outside 0-%d", v,
		         s->scale);
		return -1;
	}
	*reward = v / s->scale;
	{
		char num[40];

		pb_fmt_num(num, sizeof num, v);
		snprintf(verdict, 64, "%s/%d", num, s->scale);
	}
	return 0;
}

/* ------------------------------------------------------------ template */

static const char *const names[] = { "task", "reference", "response", "prompt" };

/* Calls fn for each piece of tmpl: literal text (name NULL) or a
 * placeholder.  Returns -1 with err set on an unknown or open one. */
static int
each_piece(const char *tmpl, int (*fn)(const char *p, size_t n, int name, void *arg),
           void *arg, char err[PB_ERRLEN])
{
	const char *p = tmpl, *q;
	size_t i;

	while (*p) {
		if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
			if (fn(p, 1, -1, arg) < 0)
				goto oom;
			p += 2;
			continue;
		}
		if (*p == '{') {
			if (!(q = strchr(p, '}'))) {
				snprintf(err, PB_ERRLEN, "template: '{' without '}'");
				return -1;
			}
			for (i = 0; i < sizeof names / sizeof *names; i++)
				if ((size_t)(q - p - 1) == strlen(names[i]) &&
				    !strncmp(p + 1, names[i], strlen(names[i])))
					break;
			if (i == sizeof names / sizeof *names) {
				snprintf(err, PB_ERRLEN, "template: unknown placeholder "
				         "{%.*s} (task, reference, response, prompt)",
				         (int)(q - p - 1 > 40 ? 40 : q - p - 1), p + 1);
				return -1;
			}
			if (fn(NULL, 0, (int)i, arg) < 0) {
				snprintf(err, PB_ERRLEN, "template: no %s for {%s}",
				         names[i], names[i]);
				return -1;
			}
			p = q + 1;
			continue;
		}
		if (*p == '}') {
			/* one rule with pb-sample's templates (template.c) */
			snprintf(err, PB_ERRLEN, "template: unmatched '}'");
			return -1;
		}
		for (q = p; *q && *q != '{' && *q != '}'; q++)
			;
		if (fn(p, (size_t)(q - p), -1, arg) < 0)
			goto oom;
		p = q;
	}
	return 0;
oom:
	snprintf(err, PB_ERRLEN, "out of memory");
	return -1;
}

static int
nop(const char *p, size_t n, int name, void *arg)
{
	(void)p, (void)n, (void)name, (void)arg;
	return 0;
}

int
pb_judge_check(const char *tmpl, char err[PB_ERRLEN])
{
	return each_piece(tmpl, nop, NULL, err);
}

struct render {
	struct pb_buf out;
	const char *val[4]; /* NULL: none */
	int oom;
};

static int
put(struct render *r, const char *p, size_t n)
{
	if (pb_buf_put(&r->out, p, n) < 0) {
		r->oom = 1;
		return -1;
	}
	return 0;
}

static int
piece(const char *p, size_t n, int name, void *arg)
{
	struct render *r = arg;

	if (name < 0)
		return put(r, p, n);
	if (!r->val[name])
		return -1;
	return put(r, r->val[name], strlen(r->val[name]));
}

char *
pb_judge_render(const char *tmpl, const cJSON *rec, const char *refpath,
                const char *text, char err[PB_ERRLEN])
{
	struct render r = { 0 };
	const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(rec, "messages"), *m;
	const cJSON *refv = refpath ? pb_json_path(rec, refpath) : NULL;
	char *ref = NULL, *prompt = NULL;
	struct render pr = { 0 };
	const char *task = pb_json_str(rec, "task.input"), *c, *last_user = NULL;

	if (!task)
		task = pb_json_str(rec, "task.question");
	cJSON_ArrayForEach(m, msgs) {
		const char *role = pb_json_str(m, "role");

		if (!(c = pb_json_str(m, "content")))
			continue;
		if (pr.out.len)
			put(&pr, "\n\n", 2);
		put(&pr, c, strlen(c));
		if (role && !strcmp(role, "user"))
			last_user = c;
	}
	if (!task)
		task = last_user;
	prompt = pr.out.p;
	if (pr.oom)
		goto oom;
	if (refv && !cJSON_IsNull(refv) && !(ref = pb_json_text(refv)))
		goto oom;
	r.val[0] = task;
	r.val[1] = ref;
	r.val[2] = text;
	r.val[3] = prompt;
	if (put(&r, "", 0) < 0 || each_piece(tmpl, piece, &r, err) < 0 || r.oom) {
		if (r.oom)
			snprintf(err, PB_ERRLEN, "out of memory");
		free(r.out.p);
		r.out.p = NULL;
	}
	free(ref);
	free(prompt);
	return r.out.p;
oom:
	snprintf(err, PB_ERRLEN, "out of memory");
	free(prompt);
	return NULL;
}
