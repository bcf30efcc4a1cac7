/* score.c - the built-in scorers' reward rules: a response's extracted
 * answer compared with the reference (number, bool, choice, exact,
 * contains, regex) or its length measured, and the "reward" and "score"
 * fields a record gets (pb_score_record).  The extractors are in
 * extract.c and extract_number.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "score.h"
#include "internal.h"

/* ------------------------------------------------------------ scorers */

static int
near(double a, double b, double tol)
{
	double d = fabs(a - b);

	return d <= tol || d <= tol * fmax(fabs(a), fabs(b));
}

static const char *const kind_names[] = {
	[PB_SCORER_NUMBER] = "number", [PB_SCORER_BOOL] = "bool",
	[PB_SCORER_EXACT] = "exact", [PB_SCORER_CONTAINS] = "contains",
	[PB_SCORER_REGEX] = "regex", [PB_SCORER_CHOICE] = "choice",
	[PB_SCORER_LENGTH] = "length",
};

const char *
pb_scorer_name(enum pb_scorer_kind k)
{
	return (unsigned)k < sizeof kind_names / sizeof *kind_names ?
	       kind_names[k] : "?";
}

const char *
pb_score_status_name(enum pb_score_status s)
{
	static const char *const names[] = { "ok", "wrong", "no-answer",
	                                     "unscored", "partial" };
	return (unsigned)s < 5 ? names[s] : "?";
}

int
pb_scorer_init(struct pb_scorer *sc, const char *name, char err[PB_ERRLEN])
{
	size_t i;

	memset(sc, 0, sizeof *sc);
	sc->reference = "task.answer";
	sc->response = "response.text";
	sc->tolerance = 1e-6;
	sc->max_words = 100;
	for (i = 0; i < sizeof kind_names / sizeof *kind_names; i++)
		if (!strcmp(name, kind_names[i])) {
			sc->kind = (enum pb_scorer_kind)i;
			return 0;
		}
	snprintf(err, PB_ERRLEN, "unknown scorer '%s' (number, bool, exact, "
	         "contains, regex, choice, length, jq, cmd, judge)", name);
	return -1;
}

int
pb_scorer_regex(struct pb_scorer *sc, const char *ere, char err[PB_ERRLEN])
{
	char msg[256];
	int rc;

	if (sc->has_re) {
		regfree(&sc->re);
		sc->has_re = 0;
	}
	if ((rc = regcomp(&sc->re, ere, REG_EXTENDED))) {
		regerror(rc, &sc->re, msg, sizeof msg);
		snprintf(err, PB_ERRLEN, "bad regex '%s': %s", ere, msg);
		return -1;
	}
	sc->has_re = 1;
	return 0;
}

void
pb_scorer_free(struct pb_scorer *sc)
{
	if (sc->has_re)
		regfree(&sc->re);
	sc->has_re = 0;
}

void
pb_score_result_free(struct pb_score_result *res)
{
	free(res->extracted);
	free(res->reference);
	res->extracted = res->reference = NULL;
}

/* Text of a scalar reference, malloc'd; NULL (err set) if not a scalar. */
static char *
ref_text(const struct pb_scorer *sc, const cJSON *ref, char err[PB_ERRLEN])
{
	char buf[64];
	char *s;

	if (cJSON_IsString(ref))
		s = strdup(ref->valuestring);
	else if (cJSON_IsNumber(ref)) {
		pb_fmt_num(buf, sizeof buf, ref->valuedouble);
		s = strdup(buf);
	} else if (cJSON_IsBool(ref))
		s = strdup(cJSON_IsTrue(ref) ? "true" : "false");
	else {
		snprintf(err, PB_ERRLEN, "reference at %s is not a string or number",
		         sc->reference);
		return NULL;
	}
	if (!s)
		snprintf(err, PB_ERRLEN, "out of memory");
	return s;
}

static int
oom(char err[PB_ERRLEN])
{
	snprintf(err, PB_ERRLEN, "out of memory");
	return -1;
}

static int
score_number(const struct pb_scorer *sc, const char *text, const cJSON *ref,
             struct pb_score_result *res, char err[PB_ERRLEN])
{
	char buf[PB_NUMTXT];
	double want, got;

	if (cJSON_IsNumber(ref)) {
		want = ref->valuedouble;
		pb_fmt_num(buf, sizeof buf, want);
	} else if (cJSON_IsString(ref)) {
		if (!pb_extract_number(ref->valuestring, &want, buf, sizeof buf)) {
			snprintf(err, PB_ERRLEN, "reference at %s has no number: '%.60s'",
			         sc->reference, ref->valuestring);
			return -1;
		}
	} else {
		snprintf(err, PB_ERRLEN, "reference at %s is not a string or number",
		         sc->reference);
		return -1;
	}
	if (!(res->reference = strdup(buf)))
		return oom(err);
	if (!pb_extract_number(text, &got, buf, sizeof buf)) {
		res->status = PB_SCORE_NOANSWER;
		return 0;
	}
	if (!(res->extracted = strdup(buf)))
		return oom(err);
	res->status = near(got, want, sc->tolerance) ? PB_SCORE_OK : PB_SCORE_WRONG;
	return 0;
}

static int
score_bool(const struct pb_scorer *sc, const char *text, const cJSON *ref,
           struct pb_score_result *res, char err[PB_ERRLEN])
{
	int want, got;

	if (cJSON_IsBool(ref))
		want = cJSON_IsTrue(ref);
	else if (cJSON_IsNumber(ref) && (ref->valuedouble == 0 || ref->valuedouble == 1))
		want = ref->valuedouble == 1;
	else if (!cJSON_IsString(ref) || !pb_extract_bool(ref->valuestring, &want)) {
		char *t = cJSON_PrintUnformatted(ref);
		snprintf(err, PB_ERRLEN, "reference at %s is not true or false: %.60s",
		         sc->reference, t ? t : "?");
		cJSON_free(t);
		return -1;
	}
	if (!(res->reference = strdup(want ? "true" : "false")))
		return oom(err);
	if (!pb_extract_bool(text, &got)) {
		res->status = PB_SCORE_NOANSWER;
		return 0;
	}
	if (!(res->extracted = strdup(got ? "true" : "false")))
		return oom(err);
	res->status = got == want ? PB_SCORE_OK : PB_SCORE_WRONG;
	return 0;
}

static int
score_choice(const struct pb_scorer *sc, const char *text, const cJSON *ref,
             struct pb_score_result *res, char err[PB_ERRLEN])
{
	char want, got, s[2] = "";

	if (!cJSON_IsString(ref) || !pb_extract_choice(ref->valuestring, &want)) {
		char *t = cJSON_PrintUnformatted(ref);
		snprintf(err, PB_ERRLEN, "reference at %s is not a choice A-E: %.60s",
		         sc->reference, t ? t : "?");
		cJSON_free(t);
		return -1;
	}
	s[0] = want;
	if (!(res->reference = strdup(s)))
		return oom(err);
	if (!pb_extract_choice(text, &got)) {
		res->status = PB_SCORE_NOANSWER;
		return 0;
	}
	s[0] = got;
	if (!(res->extracted = strdup(s)))
		return oom(err);
	res->status = got == want ? PB_SCORE_OK : PB_SCORE_WRONG;
	return 0;
}

/* Does normalised answer (exact/regex) or response (contains) match one
 * scalar reference r?  1 yes, 0 no, -1 error. */
static int
text_match(const struct pb_scorer *sc, const char *got, const cJSON *r,
           char err[PB_ERRLEN])
{
	char *t, *want;
	double a, b;
	int m;

	if (!(t = ref_text(sc, r, err)))
		return -1;
	want = pb_normalize(t, sc->norm);
	free(t);
	if (!want)
		return oom(err);
	if (!*want) {
		free(want);
		snprintf(err, PB_ERRLEN, "reference at %s is empty", sc->reference);
		return -1;
	}
	if (sc->kind == PB_SCORER_CONTAINS)
		m = strstr(got, want) != NULL;
	else
		m = !strcmp(got, want) || (sc->kind == PB_SCORER_REGEX &&
		    pb__whole_number(got, &a) && pb__whole_number(want, &b) &&
		    near(a, b, sc->tolerance));
	free(want);
	return m;
}

static int
score_text(const struct pb_scorer *sc, const char *text, const cJSON *ref,
           struct pb_score_result *res, char err[PB_ERRLEN])
{
	const cJSON *r;
	char *got;
	int m = 0;

	if (cJSON_IsArray(ref)) {
		if (!cJSON_GetArraySize(ref)) {
			snprintf(err, PB_ERRLEN, "reference at %s is an empty array",
			         sc->reference);
			return -1;
		}
		res->reference = cJSON_PrintUnformatted(ref);
	} else
		res->reference = ref_text(sc, ref, err);
	if (!res->reference)
		return -1;
	if (sc->kind == PB_SCORER_REGEX) {
		regmatch_t mt[2];
		size_t k;
		char *cap;

		if (!sc->has_re) {
			snprintf(err, PB_ERRLEN, "regex scorer without a regex");
			return -1;
		}
		if (regexec(&sc->re, text, 2, mt, 0)) {
			res->status = PB_SCORE_NOANSWER;
			return 0;
		}
		k = sc->re.re_nsub >= 1 && mt[1].rm_so >= 0 ? 1 : 0;
		if (!(cap = strndup(text + mt[k].rm_so, (size_t)(mt[k].rm_eo - mt[k].rm_so))))
			return oom(err);
		got = pb_normalize(cap, sc->norm);
		free(cap);
	} else
		got = pb_normalize(text, sc->norm);
	if (!got)
		return oom(err);
	if (!*got) {
		free(got);
		res->status = PB_SCORE_NOANSWER;
		return 0;
	}
	if (cJSON_IsArray(ref)) {
		cJSON_ArrayForEach(r, ref)
			if ((m = text_match(sc, got, r, err)))
				break;
	} else
		m = text_match(sc, got, ref, err);
	res->extracted = got;
	if (m < 0)
		return -1;
	res->status = m ? PB_SCORE_OK : PB_SCORE_WRONG;
	return 0;
}

/* Concision: full reward up to max_words words (runs of non-blanks),
 * falling linearly to 0 at twice as many.  No reference is needed; an
 * empty response is no answer rather than a perfectly short one. */
static int
score_length(const struct pb_scorer *sc, const char *text,
             struct pb_score_result *res, char err[PB_ERRLEN])
{
	char buf[64];
	long words = 0, n = sc->max_words > 0 ? sc->max_words : 1;
	const char *p;

	for (p = text; *p; p++)
		if (!pb__isspace((unsigned char)*p) &&
		    (p == text || pb__isspace((unsigned char)p[-1])))
			words++;
	snprintf(buf, sizeof buf, "%ld word%s", n, n == 1 ? "" : "s");
	if (!(res->reference = strdup(buf)))
		return oom(err);
	if (!words) {
		res->status = PB_SCORE_NOANSWER;
		return 0;
	}
	snprintf(buf, sizeof buf, "%ld word%s", words, words == 1 ? "" : "s");
	if (!(res->extracted = strdup(buf)))
		return oom(err);
	res->reward = words <= n ? 1 : fmax(0, 1 - (double)(words - n) / (double)n);
	res->status = res->reward == 1 ? PB_SCORE_OK : res->reward == 0 ?
	              PB_SCORE_WRONG : PB_SCORE_PARTIAL;
	return 0;
}

static int
score_kind(const struct pb_scorer *sc, const char *text, const cJSON *ref,
           struct pb_score_result *res, char err[PB_ERRLEN])
{
	switch (sc->kind) {
	case PB_SCORER_LENGTH:
		return score_length(sc, text, res, err);
	case PB_SCORER_NUMBER:
		return score_number(sc, text, ref, res, err);
	case PB_SCORER_BOOL:
		return score_bool(sc, text, ref, res, err);
	case PB_SCORER_CHOICE:
		return score_choice(sc, text, ref, res, err);
	case PB_SCORER_EXACT:
	case PB_SCORER_CONTAINS:
	case PB_SCORER_REGEX:
		return score_text(sc, text, ref, res, err);
	}
	snprintf(err, PB_ERRLEN, "unknown scorer kind %d", (int)sc->kind);
	return -1;
}

int
pb_score_text(const struct pb_scorer *sc, const char *text, const cJSON *ref,
              struct pb_score_result *res, char err[PB_ERRLEN])
{
	int rv;

	res->status = PB_SCORE_UNSCORED;
	res->extracted = res->reference = NULL;
	res->reward = 0;
	if (!text) {
		snprintf(err, PB_ERRLEN, "no response text at %s", sc->response);
		return -1;
	}
	if ((!ref || cJSON_IsNull(ref)) && sc->kind != PB_SCORER_LENGTH) {
		snprintf(err, PB_ERRLEN, "no reference at %s", sc->reference);
		return -1;
	}
	rv = score_kind(sc, text, ref, res, err);
	if (rv == 0 && res->status == PB_SCORE_OK)
		res->reward = 1;
	else if (rv == 0 && res->status != PB_SCORE_PARTIAL)
		res->reward = 0;
	return rv;
}

/* ------------------------------------------------------------ records */

static cJSON *
str_or_null(const char *s)
{
	return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

char *
pb_score_query_failed(const cJSON *error)
{
	const char *m = cJSON_IsString(error) ? error->valuestring :
	                pb_json_str(error, "message");
	char *s;

	if (!m)
		m = pb_json_str(error, "kind");
	if (!(s = malloc(strlen("query failed: ") + (m ? strlen(m) : 0) + 1)))
		return NULL;
	sprintf(s, "query failed%s%s", m ? ": " : "", m ? m : "");
	return s;
}

int
pb_score_record(const struct pb_scorer *sc, cJSON *rec, char err[PB_ERRLEN])
{
	struct pb_score_result res = { PB_SCORE_UNSCORED, NULL, NULL, 0 };
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(rec, "error");
	const cJSON *ref = pb_json_path(rec, sc->reference);
	const char *text = pb_json_str(rec, sc->response);
	cJSON *score, *reward;
	int rv = 0;

	if (e && !cJSON_IsNull(e)) {
		char *why = pb_score_query_failed(e);

		snprintf(err, PB_ERRLEN, "%s", why ? why : "out of memory");
		rv = why ? 1 : -1;
		free(why);
	} else if (pb_score_text(sc, text, ref, &res, err) < 0) {
		res.status = PB_SCORE_UNSCORED;
		free(res.extracted);
		res.extracted = NULL;
		rv = -1;
	}
	if (rv && !res.reference && ref && !cJSON_IsNull(ref)) {
		/* Show the reference as this scorer reads it ("72", not a whole
		 * GSM8K solution), or as given if it cannot be read. */
		char dummy[PB_ERRLEN];

		if (rv == 1 && pb_score_text(sc, "", ref, &res, dummy) == 0) {
			free(res.extracted);
			res.extracted = NULL;
		} else {
			pb_score_result_free(&res);
			res.reference = cJSON_IsArray(ref) ? cJSON_PrintUnformatted(ref) :
			                ref_text(sc, ref, dummy);
		}
		res.status = PB_SCORE_UNSCORED;
	}
	if (!(score = cJSON_CreateObject())) {
		pb_score_result_free(&res);
		return oom(err);
	}
	cJSON_AddItemToObjectCS(score, "scorer",
	                        cJSON_CreateStringReference(pb_scorer_name(sc->kind)));
	cJSON_AddItemToObjectCS(score, "extracted", str_or_null(res.extracted));
	cJSON_AddItemToObjectCS(score, "reference", str_or_null(res.reference));
	cJSON_AddItemToObjectCS(score, "status",
	                        cJSON_CreateStringReference(pb_score_status_name(res.status)));
	if (res.status == PB_SCORE_UNSCORED) {
		cJSON_AddItemToObjectCS(score, "reason", cJSON_CreateString(err));
		reward = cJSON_CreateNull();
	} else
		reward = cJSON_CreateNumber(res.reward);
	pb_json_set(rec, "reward", reward);
	pb_json_set(rec, "score", score);
	pb_score_result_free(&res);
	if (!reward)
		return oom(err);
	return rv;
}
