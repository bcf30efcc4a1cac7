/* api.c - the shapes of the two APIs pb-sim speaks, OpenAI's (and
 * Azure's) and Anthropic's: their errors, model listings, chat requests
 * parsed into one form, and the reply objects. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* OpenAI's error shape: {"error":{"message","type","param","code"}}. */
static char *
openai_error(const char *type, const char *code, const char *param,
             const char *message)
{
	cJSON *o = cJSON_CreateObject(), *e;
	char *s = NULL;

	if (o && (e = cJSON_AddObjectToObject(o, "error")) &&
	    cJSON_AddStringToObject(e, "message", message) &&
	    cJSON_AddStringToObject(e, "type", type) &&
	    (param ? cJSON_AddStringToObject(e, "param", param) != NULL
	           : cJSON_AddNullToObject(e, "param") != NULL) &&
	    (code ? cJSON_AddStringToObject(e, "code", code) != NULL
	          : cJSON_AddNullToObject(e, "code") != NULL))
		s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

/* Anthropic's: {"type":"error","error":{"type","message"}}. */
static char *
anthropic_error(const char *type, const char *message)
{
	cJSON *o = cJSON_CreateObject(), *e;
	char *s = NULL;

	if (o && cJSON_AddStringToObject(o, "type", "error") &&
	    (e = cJSON_AddObjectToObject(o, "error")) &&
	    cJSON_AddStringToObject(e, "type", type) &&
	    cJSON_AddStringToObject(e, "message", message))
		s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

/* The error type each API gives a status by default. */
static const char *
default_type(enum api api, int status)
{
	if (api == ANTHROPIC) {
		switch (status) {
		case 401: return "authentication_error";
		case 403: return "permission_error";
		case 404: return "not_found_error";
		case 413: return "request_too_large";
		case 429: return "rate_limit_error";
		case 529: return "overloaded_error";
		}
		return status >= 500 ? "api_error" : "invalid_request_error";
	}
	switch (status) {
	case 403: return "permission_error";
	case 429: return "requests";
	case 529: return "overloaded_error";
	}
	return status >= 500 ? "server_error" : "invalid_request_error";
}

static const char *
default_code(int status)
{
	return status == 401 ? "invalid_api_key" :
	       status == 429 ? "rate_limit_exceeded" : NULL;
}

int
sim_fail(struct call *c, int status, const char *type, const char *code,
         const char *param, const char *fmt, ...)
{
	struct pb_sim_response *r = c->r;
	char msg[PB_ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (!type)
		type = default_type(c->api, status);
	if (!code)
		code = default_code(status);
	r->status = status;
	free(r->body);
	r->body = c->api == ANTHROPIC ? anthropic_error(type, msg)
	                              : openai_error(type, code, param, msg);
	if (status == 429 || status == 503) {
		r->has_retry_after = 1;
		r->retry_after = c->s->retry_after;
	}
	return r->body ? 0 : -1;
}

/* Anthropic's model listing: {"data":[{"type":"model",...}],"has_more",
 * "first_id","last_id"}. */
int
sim_anthropic_models(struct pb_sim_response *r)
{
	cJSON *o = cJSON_CreateObject(), *d, *m;

	if (o && (d = cJSON_AddArrayToObject(o, "data")) && (m = cJSON_CreateObject())) {
		cJSON_AddItemToArray(d, m);
		if (cJSON_AddStringToObject(m, "type", "model") &&
		    cJSON_AddStringToObject(m, "id", "pb-sim") &&
		    cJSON_AddStringToObject(m, "display_name", "pb-sim") &&
		    cJSON_AddStringToObject(m, "created_at", "1970-01-01T00:00:00Z") &&
		    cJSON_AddFalseToObject(o, "has_more") &&
		    cJSON_AddStringToObject(o, "first_id", "pb-sim") &&
		    cJSON_AddStringToObject(o, "last_id", "pb-sim"))
			r->body = cJSON_PrintUnformatted(o);
	}
	cJSON_Delete(o);
	r->status = 200;
	return r->body ? 0 : -1;
}

int
sim_models(struct pb_sim_response *r)
{
	cJSON *o = cJSON_CreateObject(), *d, *m;

	if (o && cJSON_AddStringToObject(o, "object", "list") &&
	    (d = cJSON_AddArrayToObject(o, "data")) &&
	    (m = cJSON_CreateObject())) {
		cJSON_AddItemToArray(d, m);
		if (cJSON_AddStringToObject(m, "id", "pb-sim") &&
		    cJSON_AddStringToObject(m, "object", "model") &&
		    cJSON_AddNumberToObject(m, "created", 0) &&
		    cJSON_AddStringToObject(m, "owned_by", "promptbandit"))
			r->body = cJSON_PrintUnformatted(o);
	}
	cJSON_Delete(o);
	r->status = 200;
	return r->body ? 0 : -1;
}

/* About four bytes of English per token, as the OpenAI tokenisers give. */
long
sim_tokens(const char *s)
{
	return (long)((strlen(s) + 3) / 4);
}

void
sim_chatreq_free(struct chatreq *q)
{
	size_t i;

	for (i = 0; q->contents && i < q->n; i++)
		free(q->contents[i]);
	free(q->contents);
	free(q->roles);
	free(q->text);
	free(q->stop);
}

/* A message's content as text: a string, an array of text parts, or
 * null (an assistant turn that only called tools).  NULL: not text. */
static char *
content_text(const cJSON *c)
{
	const cJSON *part;
	size_t len = 0;
	char *s;

	if (!c || cJSON_IsNull(c))
		return strdup("");
	if (cJSON_IsString(c))
		return strdup(c->valuestring);
	if (!cJSON_IsArray(c))
		return NULL;
	cJSON_ArrayForEach(part, c) {
		const char *t = pb_json_str(part, "type"), *x = pb_json_str(part, "text");
		if (!t || strcmp(t, "text") || !x)
			return NULL;
		len += strlen(x) + 1;
	}
	if (!(s = malloc(len + 1)))
		return NULL;
	s[0] = '\0';
	len = 0;
	cJSON_ArrayForEach(part, c) {
		const char *x = pb_json_str(part, "text");
		if (len)
			s[len++] = '\n';
		strcpy(s + len, x);
		len += strlen(x);
	}
	return s;
}

/* Joins the contents into q->text.  -1: out of memory. */
static int
join(struct chatreq *q)
{
	size_t i, len = 0;

	for (i = 0; i < q->n; i++)
		len += strlen(q->contents[i]) + 2;
	if (!(q->text = malloc(len + 1)))
		return -1;
	q->text[0] = '\0';
	for (i = 0, len = 0; i < q->n; i++) {
		if (i) {
			memcpy(q->text + len, "\n\n", 2);
			len += 2;
		}
		strcpy(q->text + len, q->contents[i]);
		len += strlen(q->contents[i]);
	}
	return 0;
}

/* Reads stop strings: one string (if one is allowed) or an array of at
 * most max strings (max 0: any number). */
static int
stops(struct call *c, struct chatreq *q, const cJSON *v, int one, int max,
      const char *name)
{
	const cJSON *x;
	int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 1;

	if (!(q->stop = calloc((size_t)n + 1, sizeof *q->stop)))
		return -1;
	if (one && cJSON_IsString(v)) {
		q->stop[q->nstop++] = v->valuestring;
		return 0;
	}
	if (cJSON_IsArray(v) && (!max || n <= max)) {
		cJSON_ArrayForEach(x, v) {
			if (!cJSON_IsString(x))
				break;
			q->stop[q->nstop++] = x->valuestring;
		}
		if (!x)
			return 0;
	}
	if (one)
		return BAD(sim_fail(c, 400, NULL, NULL, name, "'%s' must be a string or an "
		           "array of up to %d strings.", name, max));
	return BAD(sim_fail(c, 400, NULL, NULL, name, "%s: Input should be a valid "
	           "list of strings", name));
}

/* Reads and checks an OpenAI chat request. */
int
sim_chat_parse(struct call *c, const cJSON *req, struct chatreq *q)
{
	const cJSON *msgs, *m, *v;
	size_t i;
	const char *mt[] = { "max_completion_tokens", "max_tokens" };
	int rv;

	q->model = "pb-sim";
	q->temperature = 1;
	if ((v = cJSON_GetObjectItemCaseSensitive(req, "model")) && !cJSON_IsNull(v)) {
		if (!cJSON_IsString(v))
			return BAD(sim_fail(c, 400, NULL, NULL, "model", "Invalid type for "
			           "'model': expected a string."));
		q->model = v->valuestring;
	}
	msgs = cJSON_GetObjectItemCaseSensitive(req, "messages");
	if (!cJSON_IsArray(msgs) || !(q->n = (size_t)cJSON_GetArraySize(msgs)))
		return BAD(sim_fail(c, 400, NULL, NULL, "messages", "'messages' must be a "
		           "non-empty array."));
	q->roles = calloc(q->n, sizeof *q->roles);
	q->contents = calloc(q->n, sizeof *q->contents);
	if (!q->roles || !q->contents)
		return -1;
	i = 0;
	cJSON_ArrayForEach(m, msgs) {
		if (!cJSON_IsObject(m) || !(q->roles[i] = pb_json_str(m, "role")))
			return BAD(sim_fail(c, 400, NULL, NULL, "messages", "messages[%zu] has "
			           "no 'role' string.", i));
		if (!(q->contents[i] = content_text(cJSON_GetObjectItemCaseSensitive(m, "content"))))
			return BAD(sim_fail(c, 400, NULL, NULL, "messages", "messages[%zu].content "
			           "is not text (a string or an array of text parts).", i));
		i++;
	}
	if (join(q))
		return -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(req, "temperature")) && !cJSON_IsNull(v)) {
		if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= 2))
			return BAD(sim_fail(c, 400, NULL, NULL, "temperature", "'temperature' "
			           "must be a number from 0 to 2."));
		q->temperature = v->valuedouble;
	}
	for (i = 0; i < 2; i++) {
		double x;
		if (!(v = cJSON_GetObjectItemCaseSensitive(req, mt[i])) || cJSON_IsNull(v))
			continue;
		x = cJSON_IsNumber(v) ? v->valuedouble : -1;
		if (x < 1 || x != floor(x) || x > 1e9)
			return BAD(sim_fail(c, 400, NULL, NULL, mt[i], "'%s' must be a positive "
			           "integer.", mt[i]));
		if (!q->max_tokens || (long)x < q->max_tokens)
			q->max_tokens = (long)x;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(req, "stop")) && !cJSON_IsNull(v) &&
	    (rv = stops(c, q, v, 1, 4, "stop")) != 0)
		return rv;
	if ((v = cJSON_GetObjectItemCaseSensitive(req, "n")) && !cJSON_IsNull(v) &&
	    !(cJSON_IsNumber(v) && v->valuedouble == 1))
		return BAD(sim_fail(c, 400, NULL, NULL, "n", "pb-sim gives one choice only: "
		           "'n' must be 1."));
	if ((v = cJSON_GetObjectItemCaseSensitive(req, "stream")) && !cJSON_IsNull(v)) {
		if (!cJSON_IsBool(v))
			return BAD(sim_fail(c, 400, NULL, NULL, "stream", "'stream' must be a "
			           "boolean."));
		q->stream = cJSON_IsTrue(v);
	}
	v = pb_json_path(req, "stream_options.include_usage");
	q->include_usage = cJSON_IsTrue(v);
	return 0;
}

/* Reads and checks an Anthropic Messages request; the messages are
 * validated the way the real API does, so a client that leaves a system
 * message among them, say, finds out here. */
int
sim_messages_parse(struct call *c, const cJSON *req, struct chatreq *q)
{
	const cJSON *msgs, *m, *v, *sys;
	const char *role;
	size_t i;
	int rv;

	q->model = "pb-sim";
	q->temperature = 1;
	if ((v = cJSON_GetObjectItemCaseSensitive(req, "model")) && !cJSON_IsNull(v)) {
		if (!cJSON_IsString(v))
			return BAD(sim_fail(c, 400, NULL, NULL, NULL, "model: Input should be a "
			           "valid string"));
		q->model = v->valuestring;
	}
	v = cJSON_GetObjectItemCaseSensitive(req, "max_tokens");
	if (!v || cJSON_IsNull(v)) {
		if (!c->counting)
			return BAD(sim_fail(c, 400, NULL, NULL, NULL, "max_tokens: Field required"));
	} else if (!cJSON_IsNumber(v) || v->valuedouble < 1 ||
	           v->valuedouble != floor(v->valuedouble) || v->valuedouble > 1e9) {
		return BAD(sim_fail(c, 400, NULL, NULL, NULL, "max_tokens: Input should be "
		           "a positive integer"));
	} else {
		q->max_tokens = (long)v->valuedouble;
	}
	msgs = cJSON_GetObjectItemCaseSensitive(req, "messages");
	if (!cJSON_IsArray(msgs))
		return BAD(sim_fail(c, 400, NULL, NULL, NULL, "messages: Field required "
		           "(a list of messages)"));
	if (!cJSON_GetArraySize(msgs))
		return BAD(sim_fail(c, 400, NULL, NULL, NULL, "messages: at least one "
		           "message is required"));
	sys = cJSON_GetObjectItemCaseSensitive(req, "system");
	if (sys && cJSON_IsNull(sys))
		sys = NULL;
	q->n = (size_t)cJSON_GetArraySize(msgs) + (sys != NULL);
	q->roles = calloc(q->n, sizeof *q->roles);
	q->contents = calloc(q->n, sizeof *q->contents);
	if (!q->roles || !q->contents)
		return -1;
	i = 0;
	if (sys) {
		if (!cJSON_IsString(sys) && !cJSON_IsArray(sys))
			return BAD(sim_fail(c, 400, NULL, NULL, NULL, "system: Input should be "
			           "a valid string or a list of text blocks"));
		q->roles[0] = "system";
		if (!(q->contents[0] = content_text(sys)))
			return cJSON_IsArray(sys) ? BAD(sim_fail(c, 400, NULL, NULL, NULL,
			       "system: each block must be {\"type\":\"text\",\"text\":...}"))
			       : -1;
		i++;
	}
	cJSON_ArrayForEach(m, msgs) {
		size_t k = i - (sys != NULL);
		if (!cJSON_IsObject(m) || !(role = pb_json_str(m, "role")))
			return BAD(sim_fail(c, 400, NULL, NULL, NULL, "messages.%zu.role: Field "
			           "required", k));
		if (strcmp(role, "user") && strcmp(role, "assistant"))
			return BAD(sim_fail(c, 400, NULL, NULL, NULL, "messages.%zu.role: Input "
			           "should be 'user' or 'assistant' (a system prompt goes in "
			           "the top-level 'system' field)", k));
		q->roles[i] = role;
		v = cJSON_GetObjectItemCaseSensitive(m, "content");
		if (!cJSON_IsString(v) && !cJSON_IsArray(v))
			return BAD(sim_fail(c, 400, NULL, NULL, NULL, "messages.%zu.content: "
			           "Field required (a string or a list of blocks)", k));
		if (!(q->contents[i] = content_text(v)))
			return cJSON_IsArray(v) ? BAD(sim_fail(c, 400, NULL, NULL, NULL,
			       "messages.%zu.content: pb-sim reads text blocks only "
			       "({\"type\":\"text\",\"text\":...})", k)) : -1;
		i++;
	}
	if (join(q))
		return -1;
	if ((v = cJSON_GetObjectItemCaseSensitive(req, "temperature")) && !cJSON_IsNull(v)) {
		if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= 1))
			return BAD(sim_fail(c, 400, NULL, NULL, NULL, "temperature: Input should "
			           "be a number from 0 to 1"));
		q->temperature = v->valuedouble;
	}
	if ((v = cJSON_GetObjectItemCaseSensitive(req, "top_p")) && !cJSON_IsNull(v) &&
	    !(cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= 1))
		return BAD(sim_fail(c, 400, NULL, NULL, NULL, "top_p: Input should be a "
		           "number from 0 to 1"));
	if ((v = cJSON_GetObjectItemCaseSensitive(req, "stop_sequences")) &&
	    !cJSON_IsNull(v) && (rv = stops(c, q, v, 0, 0, "stop_sequences")) != 0)
		return rv;
	if ((v = cJSON_GetObjectItemCaseSensitive(req, "stream")) && !cJSON_IsNull(v)) {
		if (!cJSON_IsBool(v))
			return BAD(sim_fail(c, 400, NULL, NULL, NULL, "stream: Input should be "
			           "a valid boolean"));
		q->stream = cJSON_IsTrue(v);
	}
	return 0;
}

/* Cuts text at the earliest stop sequence, or to max_tokens; *which
 * receives the stop sequence that cut it, if any. */
enum finish
sim_limit(char *text, const struct chatreq *q, const char **which)
{
	char *cut = NULL, *p;
	int i;

	*which = NULL;
	for (i = 0; i < q->nstop; i++)
		if (*q->stop[i] && (p = strstr(text, q->stop[i])) && (!cut || p < cut)) {
			cut = p;
			*which = q->stop[i];
		}
	if (cut)
		*cut = '\0';
	if (q->max_tokens && sim_tokens(text) > q->max_tokens) {
		size_t n = (size_t)q->max_tokens * 4;
		/* not inside a UTF-8 sequence */
		while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80)
			n--;
		text[n] = '\0';
		*which = NULL;
		return LENGTH;
	}
	return cut ? STOPPED : END;
}

/* What the simulation decided, for tests and curious people. */
static int
add_x(cJSON *o, const struct pb_sim *s, const struct pb_sim_answer *a,
      unsigned long rep)
{
	cJSON *x = cJSON_AddObjectToObject(o, "x_pb_sim");

	return x &&
	    (a->task >= 0 && s->tasks[a->task].id
	     ? cJSON_AddStringToObject(x, "task", s->tasks[a->task].id) != NULL
	     : cJSON_AddNullToObject(x, "task") != NULL) &&
	    cJSON_AddNumberToObject(x, "skill", a->skill) &&
	    cJSON_AddNumberToObject(x, "p", a->p) &&
	    cJSON_AddBoolToObject(x, "correct", a->correct) &&
	    cJSON_AddNumberToObject(x, "repeat", (double)rep) ? 0 : -1;
}

/* The chat.completion object. */
cJSON *
sim_openai_reply(const struct call *c, const struct chatreq *q,
                 const struct pb_sim_answer *a, enum finish fin, long pt)
{
	cJSON *o, *ch, *m, *msg, *u;
	char id[40];
	long ct = sim_tokens(a->text);

	snprintf(id, sizeof id, "chatcmpl-%016llx",
	         (unsigned long long)mix(c->key, c->rep, c->s->seed ^ SALT_ID));
	if (!(o = cJSON_CreateObject()))
		return NULL;
	if (cJSON_AddStringToObject(o, "id", id) &&
	    cJSON_AddStringToObject(o, "object", "chat.completion") &&
	    cJSON_AddNumberToObject(o, "created", 0) &&
	    cJSON_AddStringToObject(o, "model", q->model) &&
	    (ch = cJSON_AddArrayToObject(o, "choices")) &&
	    (m = cJSON_CreateObject()) && cJSON_AddItemToArray(ch, m) &&
	    cJSON_AddNumberToObject(m, "index", 0) &&
	    (msg = cJSON_AddObjectToObject(m, "message")) &&
	    cJSON_AddStringToObject(msg, "role", "assistant") &&
	    cJSON_AddStringToObject(msg, "content", a->text) &&
	    cJSON_AddNullToObject(m, "logprobs") &&
	    cJSON_AddStringToObject(m, "finish_reason", fin == LENGTH ? "length" : "stop") &&
	    (u = cJSON_AddObjectToObject(o, "usage")) &&
	    cJSON_AddNumberToObject(u, "prompt_tokens", (double)pt) &&
	    cJSON_AddNumberToObject(u, "completion_tokens", (double)ct) &&
	    cJSON_AddNumberToObject(u, "total_tokens", (double)(pt + ct)) &&
	    !add_x(o, c->s, a, c->rep))
		return o;
	cJSON_Delete(o);
	return NULL;
}

/* The Anthropic message object. */
cJSON *
sim_anthropic_reply(const struct call *c, const struct chatreq *q,
                    const struct pb_sim_answer *a, enum finish fin,
                    const char *stop, long pt)
{
	static const char *const why[] = { "end_turn", "stop_sequence", "max_tokens" };
	cJSON *o, *arr, *b, *u;
	char id[40];

	snprintf(id, sizeof id, "msg_%016llx",
	         (unsigned long long)mix(c->key, c->rep, c->s->seed ^ SALT_ID));
	if (!(o = cJSON_CreateObject()))
		return NULL;
	if (cJSON_AddStringToObject(o, "id", id) &&
	    cJSON_AddStringToObject(o, "type", "message") &&
	    cJSON_AddStringToObject(o, "role", "assistant") &&
	    cJSON_AddStringToObject(o, "model", q->model) &&
	    (arr = cJSON_AddArrayToObject(o, "content")) &&
	    (b = cJSON_CreateObject()) && cJSON_AddItemToArray(arr, b) &&
	    cJSON_AddStringToObject(b, "type", "text") &&
	    cJSON_AddStringToObject(b, "text", a->text) &&
	    cJSON_AddStringToObject(o, "stop_reason", why[fin]) &&
	    (stop ? cJSON_AddStringToObject(o, "stop_sequence", stop) != NULL
	          : cJSON_AddNullToObject(o, "stop_sequence") != NULL) &&
	    (u = cJSON_AddObjectToObject(o, "usage")) &&
	    cJSON_AddNumberToObject(u, "input_tokens", (double)pt) &&
	    cJSON_AddNumberToObject(u, "output_tokens", (double)sim_tokens(a->text)) &&
	    !add_x(o, c->s, a, c->rep))
		return o;
	cJSON_Delete(o);
	return NULL;
}
