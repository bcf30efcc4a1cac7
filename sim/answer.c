/* answer.c - making the reply to a prompt: whether it is right (the
 * skill against the task's difficulty), the answer stated, right or a
 * plausible wrong one, and its phrasing; the replies to judge and
 * prompt-proposal requests; the identity and repeat count of a request.
 *
 * Every choice is a hash of the seed and the request's content (and, for
 * temperature > 0, of how many identical requests came before). */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

#define NSTYLES 6
#define NOT_SURE "I am not sure what you are asking. " \
	"Could you state the question again?"

/* text without [at, at+n), trimmed. */
static char *
rest_of(const char *text, size_t at, size_t n)
{
	size_t len = strlen(text), b = 0, e;
	char *r = malloc(len - n + 1);

	if (!r)
		return NULL;
	memcpy(r, text, at);
	memcpy(r + at, text + at + n, len - at - n);
	e = len - n;
	r[e] = '\0';
	trim(r, &b, &e);
	memmove(r, r + b, e - b);
	r[e - b] = '\0';
	return r;
}

/* ------------------------------------------------------------ answers */

/* A wrong number near v: off by a little, or a step doubled or halved.
 * The step is at least a thousandth of v, so no tolerance of a scorer
 * mistakes it for v. */
static double
wrong_number(double v, uint64_t h)
{
	static const double steps[] = { 1, -1, 2, -2, 3, -3, 5, 10, -10, 4 };
	int whole = v == floor(v) && fabs(v) < 1e15;
	double u, w;
	unsigned k = (unsigned)(h % 12);

	if (whole)
		u = fabs(v) >= 1000 ? pow(10, floor(log10(fabs(v))) - 2) : 1;
	else
		u = pow(10, floor(log10(fabs(v))) - 1);
	if (k == 10 && whole && v != 0)
		w = 2 * v;
	else if (k == 11 && whole && fmod(v, 2) == 0 && v != 0)
		w = v / 2;
	else
		w = v + steps[k % 10] * u;
	if (v >= 0 && w < 0)
		w = v + fabs(steps[k % 10]) * u;
	if (w == v)
		w = v + u;
	return w;
}

/* A boolean as the model states it, by sim_bool_word's index. */
static const char *const said_bool[] = { "False", "True", "No", "Yes" };

/* A choice letter as the model states it. */
static char *
said_choice(char c)
{
	char buf[2] = { c, '\0' };

	return strdup(buf);
}

/* The answer as the model states it when right. */
static char *
right_given(const struct pb_sim_task *k)
{
	char buf[64];

	switch (k->kind) {
	case PB_SIM_NUMBER:
		if (strchr(k->answer, '/'))
			return strdup(k->answer[0] == '+' ? k->answer + 1 : k->answer);
		fmtnum(buf, sizeof buf, k->value);
		return strdup(buf);
	case PB_SIM_BOOL:
		return strdup(said_bool[sim_bool_word(k->answer)]);
	case PB_SIM_CHOICE:
		return said_choice(sim_choice_letter(k->answer));
	case PB_SIM_TEXT:
		break;
	}
	return strdup(k->answer);
}

static char *
wrong_given(const struct pb_sim *s, const struct pb_sim_task *k, uint64_t h)
{
	char buf[64];
	size_t i, n;

	switch (k->kind) {
	case PB_SIM_NUMBER:
		fmtnum(buf, sizeof buf, wrong_number(k->value, h));
		return strdup(buf);
	case PB_SIM_BOOL:
		return strdup(said_bool[sim_bool_word(k->answer) ^ 1]);
	case PB_SIM_CHOICE:
		return said_choice((char)('A' + (sim_choice_letter(k->answer) - 'A' + 1 +
		                                 (int)(h % 4)) % 5));
	case PB_SIM_TEXT:
		break;
	}
	/* Another task's answer, as a confused model would give. */
	for (i = 0, n = (size_t)(h % s->ntasks); i < 32 && i < s->ntasks; i++) {
		const struct pb_sim_task *o = &s->tasks[(n + i) % s->ntasks];
		if (o->kind == PB_SIM_TEXT && strcasecmp(o->answer, k->answer))
			return strdup(o->answer);
	}
	return strdup(strcasecmp(k->answer, "I don't know") ? "I don't know" : "No idea");
}

/* Two numbers that add up to v, shown as working in some styles. */
static void
steps_for(double v, uint64_t h, char *a, char *b, size_t n)
{
	double x;

	if (v == floor(v) && fabs(v) >= 2 && fabs(v) < 1e15)
		x = (v > 0 ? 1 : -1) * (double)(1 + h % (uint64_t)(fabs(v) - 1));
	else
		x = v / 2;
	fmtnum(a, n, x);
	fmtnum(b, n, v - x);
}

static char *
phrase(const struct pb_sim_task *k, int style, const char *g, uint64_t h)
{
	char a[64], b[64], low[8];
	size_t i;

	switch (k->kind) {
	case PB_SIM_NUMBER:
		/* The working adds up to the right answer; a wrong final
		 * number then reads as a slip in the last step. */
		steps_for(k->value, h, a, b, sizeof a);
		switch (style) {
		case 0:
			return pb_strfmt("Let me work through this step by step.\n"
			            "First, we have %s.\nThen we add %s: %s + %s = %s.\n"
			            "#### %s", a, b, a, b, g, g);
		case 1:
			return pb_strfmt("The answer is %s.", g);
		case 2:
			return pb_strfmt("Adding everything up: %s + %s = %s.\n"
			            "So, the grand total is **%s**. Now that's a result "
			            "worth celebrating!", a, b, g, g);
		case 3:
			return pb_strfmt("Step 1: start from %s.\nStep 2: add %s to get %s.\n"
			            "Thus, the final amount is **%s**.", a, b, g, g);
		case 4:
			return strdup(g);
		default:
			return pb_strfmt("Let's see. Starting from %s and adding %s gives %s.\n"
			            "Final answer: %s", a, b, g, g);
		}
	case PB_SIM_BOOL:
		for (i = 0; g[i] && i + 1 < sizeof low; i++)
			low[i] = (char)(g[i] >= 'A' && g[i] <= 'Z' ? g[i] - 'A' + 'a' : g[i]);
		low[i] = '\0';
		switch (style) {
		case 0:
			return pb_strfmt("%s.", g);
		case 1:
			return pb_strfmt("%s, because that is what a careful reading of the "
			            "statement shows.", g);
		case 2:
			return pb_strfmt("The answer is %s.", low);
		case 3:
			return pb_strfmt("**%s**", g);
		case 4:
			return pb_strfmt("Answer: %s", g);
		default:
			return pb_strfmt("%s. It follows directly from the facts given.", g);
		}
	case PB_SIM_CHOICE:
		switch (style) {
		case 0:
			return pb_strfmt("The correct option is (%s).", g);
		case 1:
			return strdup(g);
		case 2:
			return pb_strfmt("Answer: %s", g);
		case 3:
			return pb_strfmt("The answer is (%s).", g);
		case 4:
			return pb_strfmt("(%s)", g);
		default:
			return pb_strfmt("Looking at each option in turn, the answer is %s.", g);
		}
	case PB_SIM_TEXT:
		break;
	}
	switch (style % 3) {
	case 0:
		return strdup(g);
	case 1:
		return pb_strfmt("The answer is %s.", g);
	default:
		return pb_strfmt("Answer: %s", g);
	}
}

/* -------------------------------------------------- prompt proposals */

/* A request for new prompts, in the manner of prompt-search methods
 * (APE, OPRO): the prompts to vary one per line between <prompts> and
 * </prompts>, best first, and how many to write in <count>N</count>
 * (default 3, at most 20).  The reply is N lines, each a listed prompt
 * (the first ones more often) with one instruction from a fixed list
 * appended that it does not hold yet, chosen by a hash of the request
 * and its repeat.  Returns 1 with a->text set, 0 if text is no such
 * request, -1 out of memory. */
static int
propose_answer(const struct pb_sim *s, const char *text, uint64_t key,
               unsigned long repeat, struct pb_sim_answer *a)
{
	static const char *const adds[] = {
		"Double-check the arithmetic before you answer.",
		"Check every step of your working twice.",
		"Reason step by step.",
		"State the final answer plainly.",
		"Take a deep breath and work carefully.",
		"Be brief.",
		"Answer like a pirate would, matey.",
		"Explain it as you would to a child.",
	};
	const size_t nadds = sizeof adds / sizeof *adds;
	char *list, *cnt, *line, *save = NULL, *lines[64];
	size_t n = 0, want = 3, j, t;
	struct pb_buf b = { 0 };

	if (!strstr(text, "</prompts>") || !(list = sim_tagged(text, "prompts")))
		return 0;
	if ((cnt = sim_tagged(text, "count"))) {
		long v = strtol(cnt, NULL, 10);
		want = v < 1 ? 1 : v > 20 ? 20 : (size_t)v;
		free(cnt);
	}
	for (line = strtok_r(list, "\n", &save); line && n < 64;
	     line = strtok_r(NULL, "\n", &save)) {
		size_t lb = 0, le = strlen(line);
		trim(line, &lb, &le);
		line[le] = '\0';
		if (le > lb)
			lines[n++] = line + lb;
	}
	if (pb_buf_put(&b, "", 0) < 0)
		goto oom;
	for (j = 0; j < want; j++) {
		uint64_t h = mix(mix(key, repeat, s->seed ^ SALT_STEPS), j, 0x9e3779b97f4a7c15ULL);
		/* the first listed prompt half the time, else any */
		const char *base = !n ? "" : h % 2 ? lines[0] : lines[(h >> 8) % n];
		const char *add = adds[(h >> 16) % nadds];
		for (t = 0; t < nadds && *base && strstr(base, add); t++)
			add = adds[((h >> 16) + t + 1) % nadds];
		if ((*base && (pb_buf_put(&b, base, strlen(base)) < 0 ||
		               pb_buf_put(&b, " ", 1) < 0)) ||
		    pb_buf_put(&b, add, strlen(add)) < 0 || pb_buf_put(&b, "\n", 1) < 0)
			goto oom;
	}
	free(list);
	a->task = -1;
	a->text = b.p;
	return 1;
oom:
	free(list);
	free(b.p);
	return -1;
}

/* --------------------------------------------------------- the reply */

int
pb_sim_answer(const struct pb_sim *s, const char *text, uint64_t key,
              double temperature, unsigned long repeat,
              struct pb_sim_answer *a)
{
	const struct pb_sim_task *k;
	size_t at = 0;
	char *rest;
	int j;

	memset(a, 0, sizeof *a);
	if ((j = sim_judge_answer(text, a)))
		return j < 0 ? -1 : 0;
	if ((j = propose_answer(s, text, key, temperature > 0 ? repeat : 0, a)))
		return j < 0 ? -1 : 0;
	a->task = pb_sim_match(s, text, &at);
	if (a->task < 0) {
		a->text = strdup(NOT_SURE);
		return a->text ? 0 : -1;
	}
	k = &s->tasks[a->task];
	if (!(rest = rest_of(text, at, k->len)))
		return -1;
	a->skill = pb_sim_skill_task(s, a->task, text, rest);
	a->style = (int)(pb_hash(rest, strlen(rest), s->seed ^ SALT_STYLE) % NSTYLES);
	free(rest);
	if (!(temperature > 0))
		repeat = 0; /* greedy decoding: the same request, the same reply */
	a->p = 1 / (1 + exp(k->difficulty - a->skill));
	a->u = unit(mix(key, repeat, s->seed ^ SALT_DRAW));
	a->correct = a->u < a->p;
	a->given = a->correct ? right_given(k) :
	           wrong_given(s, k, mix(key, repeat, s->seed ^ SALT_WRONG));
	if (!a->given)
		return -1;
	a->text = phrase(k, a->style, a->given, mix(key, repeat, s->seed ^ SALT_STEPS));
	if (!a->text) {
		pb_sim_answer_free(a);
		return -1;
	}
	return 0;
}

void
pb_sim_answer_free(struct pb_sim_answer *a)
{
	free(a->given);
	free(a->text);
	a->given = a->text = NULL;
}

/* -------------------------------------------------- requests counted */

uint64_t
pb_sim_request_key(const char *const *roles, const char *const *contents,
                   size_t n, double temperature)
{
	char t[64];
	uint64_t h = mix(n, 0, 0);
	size_t i;

	for (i = 0; i < n; i++) {
		h = mix(h, strlen(roles[i]), 1);
		h = pb_hash(roles[i], strlen(roles[i]), h);
		h = mix(h, strlen(contents[i]), 2);
		h = pb_hash(contents[i], strlen(contents[i]), h);
	}
	snprintf(t, sizeof t, "%.17g", temperature);
	return pb_hash(t, strlen(t), h);
}

unsigned long
pb_sim_count(struct pb_sim *s, uint64_t key)
{
	struct seen *m = &s->priv->seen;
	unsigned long n = 0;
	size_t i, mask;

	if (!key)
		key = 1;
	pthread_mutex_lock(&s->priv->mu);
	if (2 * (m->used + 1) > m->cap) {
		size_t ncap = m->cap ? 2 * m->cap : 1024, j;
		uint64_t *nk = calloc(ncap, sizeof *nk);
		unsigned long *nn = calloc(ncap, sizeof *nn);

		if (!nk || !nn) {
			/* Out of memory: every request then counts as the
			 * first, which is still a valid (if dull) answer. */
			free(nk);
			free(nn);
			pthread_mutex_unlock(&s->priv->mu);
			return 0;
		}
		for (j = 0; j < m->cap; j++) {
			if (!m->k[j])
				continue;
			for (i = (size_t)m->k[j] & (ncap - 1); nk[i]; i = (i + 1) & (ncap - 1))
				;
			nk[i] = m->k[j];
			nn[i] = m->n[j];
		}
		free(m->k);
		free(m->n);
		m->k = nk;
		m->n = nn;
		m->cap = ncap;
	}
	mask = m->cap - 1;
	for (i = (size_t)key & mask; m->k[i] && m->k[i] != key; i = (i + 1) & mask)
		;
	if (m->k[i]) {
		n = m->n[i]++;
	} else {
		m->k[i] = key;
		m->n[i] = 1;
		m->used++;
	}
	pthread_mutex_unlock(&s->priv->mu);
	return n;
}
