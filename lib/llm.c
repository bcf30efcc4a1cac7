/* llm.c - chat requests (OpenAI chat completions, Anthropic messages):
 * request bodies from records, and the "response" or "error" objects
 * pb-query stores from the answers. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "llm.h"

#define SNIPPET 120 /* bytes of an unexpected body quoted in a message */

int
pb_llm_check(const cJSON *rec, char err[PB_ERRLEN])
{
	const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(rec, "messages");
	const cJSON *m, *c;
	int i = 0;

	if (!cJSON_IsArray(msgs) || !msgs->child) {
		snprintf(err, PB_ERRLEN, "no messages");
		return -1;
	}
	cJSON_ArrayForEach(m, msgs) {
		if (!cJSON_IsObject(m) || !pb_json_str(m, "role")) {
			snprintf(err, PB_ERRLEN, "messages[%d] has no \"role\"", i);
			return -1;
		}
		c = cJSON_GetObjectItemCaseSensitive(m, "content");
		if (!cJSON_IsString(c) && !cJSON_IsArray(c) && !cJSON_IsNull(c)) {
			snprintf(err, PB_ERRLEN, "messages[%d] has no \"content\"", i);
			return -1;
		}
		i++;
	}
	return 0;
}

const char *
pb_llm_path(enum pb_llm_api api)
{
	return api == PB_API_ANTHROPIC ? "/messages" : "/chat/completions";
}

const char *
pb_llm_api_name(enum pb_llm_api api)
{
	return api == PB_API_ANTHROPIC ? "anthropic" : api == PB_API_AZURE ? "azure" :
	       "openai";
}

/* Adds Anthropic's "system" field and its messages array to body: the
 * system messages, wherever they stand, become the one top-level system
 * prompt (strings joined by blank lines; if any is an array of parts, a
 * list of text blocks), and the other messages go as they are. */
static int
anthropic_messages(cJSON *body, const cJSON *msgs)
{
	const cJSON *m, *c, *part;
	cJSON *list = NULL, *arr;
	char *sys = NULL, *t;
	size_t len = 0, n;
	int parts = 0;

	cJSON_ArrayForEach(m, msgs) {
		c = cJSON_GetObjectItemCaseSensitive(m, "content");
		if (!strcmp(pb_json_str(m, "role"), "system") && cJSON_IsArray(c))
			parts = 1;
	}
	if (!(arr = cJSON_AddArrayToObject(body, "messages")))
		return -1;
	if (parts && !(list = cJSON_CreateArray()))
		return -1;
	cJSON_ArrayForEach(m, msgs) {
		c = cJSON_GetObjectItemCaseSensitive(m, "content");
		if (strcmp(pb_json_str(m, "role"), "system")) {
			if (!cJSON_AddItemReferenceToArray(arr, (cJSON *)m))
				goto fail;
		} else if (parts) {
			if (cJSON_IsString(c)) {
				cJSON *b = cJSON_CreateObject();
				cJSON_AddItemToArray(list, b);
				if (!b || !cJSON_AddStringToObject(b, "type", "text") ||
				    !cJSON_AddStringToObject(b, "text", c->valuestring))
					goto fail;
			} else if (cJSON_IsArray(c)) {
				cJSON_ArrayForEach(part, c)
					if (!cJSON_AddItemReferenceToArray(list, (cJSON *)part))
						goto fail;
			}
		} else if (cJSON_IsString(c)) {
			n = strlen(c->valuestring);
			if (!(t = realloc(sys, len + n + 3)))
				goto fail;
			sys = t;
			if (len) {
				memcpy(sys + len, "\n\n", 2);
				len += 2;
			}
			memcpy(sys + len, c->valuestring, n + 1);
			len += n;
		}
	}
	if (list) {
		cJSON_AddItemToObject(body, "system", list);
		list = NULL;
	} else if (sys && !cJSON_AddStringToObject(body, "system", sys)) {
		goto fail;
	}
	free(sys);
	return 0;
fail:
	free(sys);
	cJSON_Delete(list);
	return -1;
}

/* Puts a copy of each member of extra into body, replacing any there. */
static int
merge(cJSON *body, const cJSON *extra)
{
	const cJSON *x;
	cJSON *v;

	cJSON_ArrayForEach(x, extra) {
		if (!(v = cJSON_Duplicate(x, 1)))
			return -1;
		pb_json_set(body, x->string, v);
	}
	return 0;
}

cJSON *
pb_llm_body(const cJSON *rec, const struct pb_llm_params *p)
{
	cJSON *body = cJSON_CreateObject(), *stop;
	cJSON *msgs = cJSON_GetObjectItemCaseSensitive(rec, "messages");
	int anth = p->api == PB_API_ANTHROPIC;
	long maxtok = p->max_tokens ? p->max_tokens : p->max_completion_tokens;
	const char *const *sp;

	if (!body || !cJSON_AddStringToObject(body, "model", p->model))
		goto fail;
	/* The messages go in by reference: printed, never copied or freed. */
	if (anth ? anthropic_messages(body, msgs) < 0
	         : !cJSON_AddItemReferenceToObject(body, "messages", msgs))
		goto fail;
	if (anth && !maxtok)
		maxtok = PB_LLM_ANTHROPIC_MAX_TOKENS;
	if (!cJSON_AddNumberToObject(body, "temperature", p->temperature) ||
	    (p->has_top_p && !cJSON_AddNumberToObject(body, "top_p", p->top_p)) ||
	    (maxtok > 0 && !cJSON_AddNumberToObject(body,
	        !anth && p->max_completion_tokens ? "max_completion_tokens" : "max_tokens",
	        (double)maxtok)) ||
	    (p->has_seed && !cJSON_AddNumberToObject(body, "seed", (double)p->seed)))
		goto fail;
	if (p->stop && p->stop[0]) {
		if (!(stop = cJSON_AddArrayToObject(body, anth ? "stop_sequences" : "stop")))
			goto fail;
		for (sp = p->stop; *sp; sp++)
			if (!cJSON_AddItemToArray(stop, cJSON_CreateString(*sp)))
				goto fail;
	}
	if (p->extra && merge(body, p->extra) < 0)
		goto fail;
	return body;
fail:
	cJSON_Delete(body);
	return NULL;
}

char *
pb_llm_request(const cJSON *rec, const struct pb_llm_params *p, size_t *len)
{
	cJSON *body = pb_llm_body(rec, p);
	char *s = body ? cJSON_PrintUnformatted(body) : NULL;

	if (s && len)
		*len = strlen(s);
	cJSON_Delete(body);
	return s;
}

/* Characters (UTF-8 code points) of a message content: a string, or the
 * "text" of each part in an array. */
static long
content_chars(const cJSON *c)
{
	const cJSON *part;
	const unsigned char *s;
	long n = 0;

	if (cJSON_IsArray(c)) {
		cJSON_ArrayForEach(part, c)
			n += content_chars(cJSON_GetObjectItemCaseSensitive(part, "text"));
		return n;
	}
	if (!cJSON_IsString(c))
		return 0;
	for (s = (const unsigned char *)c->valuestring; *s; s++)
		n += (*s & 0xC0) != 0x80;
	return n;
}

long
pb_llm_estimate(const cJSON *rec)
{
	const cJSON *m;
	long chars = 0;

	cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(rec, "messages"))
		chars += content_chars(cJSON_GetObjectItemCaseSensitive(m, "content"));
	return (chars + 3) / 4;
}

/* Quotes up to SNIPPET bytes of body into out, control characters as
 * spaces, cut at a UTF-8 character boundary, "..." if cut. */
static void
snippet(const char *body, size_t len, char *out, size_t outsz)
{
	size_t n = len < SNIPPET ? len : SNIPPET, i, o = 0;

	if (n < len)
		while (n > 0 && ((unsigned char)body[n] & 0xC0) == 0x80)
			n--;
	for (i = 0; i < n && o + 4 < outsz; i++) {
		unsigned char c = (unsigned char)body[i];
		out[o++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	if (n < len && o + 4 < outsz) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

/* Sets err to what, then ": " and a snippet of the body (or "empty body"). */
static void
body_err(char err[PB_ERRLEN], const char *what, const char *body, size_t len)
{
	char snip[SNIPPET + 8];

	if (!body || !len) {
		snprintf(err, PB_ERRLEN, "%s: empty body", what);
		return;
	}
	snippet(body, len, snip, sizeof snip);
	snprintf(err, PB_ERRLEN, "%s: %s", what, snip);
}

static cJSON *
copy_count(const cJSON *usage, const char *key)
{
	double v;

	if (pb_json_num(usage, key, &v) == 0 && v >= 0 && isfinite(v))
		return cJSON_CreateNumber(v);
	return cJSON_CreateNull();
}

/* The usage object pb-query records, in OpenAI's names whatever the API.
 * Anthropic's input_tokens leaves out the prompt tokens read from or
 * written to its prompt cache; prompt_tokens counts them all, as
 * OpenAI's does. */
static cJSON *
usage_of(enum pb_llm_api api, const cJSON *doc)
{
	const cJSON *u = cJSON_GetObjectItemCaseSensitive(doc, "usage");
	cJSON *o;
	double p, c, t, x;

	if (!cJSON_IsObject(u))
		return cJSON_CreateNull();
	if (!(o = cJSON_CreateObject()))
		return NULL;
	if (api == PB_API_ANTHROPIC) {
		if (pb_json_num(u, "input_tokens", &p) < 0 ||
		    pb_json_num(u, "output_tokens", &c) < 0 || p < 0 || c < 0) {
			cJSON_AddNullToObject(o, "prompt_tokens");
			cJSON_AddItemToObject(o, "completion_tokens", copy_count(u, "output_tokens"));
			cJSON_AddNullToObject(o, "total_tokens");
			return o;
		}
		if (pb_json_num(u, "cache_creation_input_tokens", &x) == 0 && x > 0)
			p += x;
		if (pb_json_num(u, "cache_read_input_tokens", &x) == 0 && x > 0)
			p += x;
		cJSON_AddNumberToObject(o, "prompt_tokens", p);
		cJSON_AddNumberToObject(o, "completion_tokens", c);
		cJSON_AddNumberToObject(o, "total_tokens", p + c);
		return o;
	}
	cJSON_AddItemToObject(o, "prompt_tokens", copy_count(u, "prompt_tokens"));
	cJSON_AddItemToObject(o, "completion_tokens", copy_count(u, "completion_tokens"));
	/* Some servers leave the total out; it is the sum by definition. */
	if (pb_json_num(u, "total_tokens", &t) < 0 &&
	    pb_json_num(u, "prompt_tokens", &p) == 0 &&
	    pb_json_num(u, "completion_tokens", &c) == 0)
		cJSON_AddNumberToObject(o, "total_tokens", p + c);
	else
		cJSON_AddItemToObject(o, "total_tokens", copy_count(u, "total_tokens"));
	return o;
}

/* The answer's text and finish reason in OpenAI's shape: choices[0]. */
static int
openai_answer(const cJSON *doc, char **text, const char **fin,
              const char *body, size_t len, char err[PB_ERRLEN])
{
	const cJSON *choice, *content, *f;

	choice = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(doc, "choices"), 0);
	if (!cJSON_IsObject(choice)) {
		body_err(err, "no choices in response", body, len);
		return -1;
	}
	content = pb_json_path(choice, "message.content");
	if (!cJSON_IsString(content)) {
		body_err(err, "no content in response", body, len);
		return -1;
	}
	f = cJSON_GetObjectItemCaseSensitive(choice, "finish_reason");
	*fin = cJSON_IsString(f) ? f->valuestring : NULL;
	if (!(*text = strdup(content->valuestring))) {
		snprintf(err, PB_ERRLEN, "out of memory");
		return -1;
	}
	return 0;
}

/* The same from Anthropic's shape: the text blocks of "content" joined,
 * and "stop_reason".  Content with blocks but none of them text (a tool
 * call only) is no answer. */
static int
anthropic_answer(const cJSON *doc, char **text, const char **fin,
                 const char *body, size_t len, char err[PB_ERRLEN])
{
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(doc, "content");
	const cJSON *b, *f, *t;
	size_t n = 0, k;
	int ntext = 0;
	char *s;

	if (!cJSON_IsArray(content)) {
		body_err(err, "no content in response", body, len);
		return -1;
	}
	cJSON_ArrayForEach(b, content)
		if (cJSON_IsString(t = cJSON_GetObjectItemCaseSensitive(b, "text")))
			n += strlen(t->valuestring);
	if (!(s = malloc(n + 1))) {
		snprintf(err, PB_ERRLEN, "out of memory");
		return -1;
	}
	n = 0;
	cJSON_ArrayForEach(b, content) {
		if (!cJSON_IsString(t = cJSON_GetObjectItemCaseSensitive(b, "text")))
			continue;
		k = strlen(t->valuestring);
		memcpy(s + n, t->valuestring, k);
		n += k;
		ntext++;
	}
	s[n] = '\0';
	if (!ntext && content->child) {
		free(s);
		body_err(err, "no text in response", body, len);
		return -1;
	}
	f = cJSON_GetObjectItemCaseSensitive(doc, "stop_reason");
	*fin = cJSON_IsString(f) ? f->valuestring : NULL;
	*text = s;
	return 0;
}

cJSON *
pb_llm_response(enum pb_llm_api api, const char *body, size_t len,
                double latency_ms, const char *fallback_model,
                char err[PB_ERRLEN])
{
	cJSON *doc, *out = NULL, *usage;
	const char *model, *fin = NULL, *fp, *type;
	char *text = NULL;

	doc = body ? cJSON_ParseWithLength(body, len) : NULL;
	if (!cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		body_err(err, "response is not JSON", body, len);
		return NULL;
	}
	/* An error sent with a 2xx status is no answer. */
	if ((type = pb_json_str(doc, "type")) && !strcmp(type, "error")) {
		body_err(err, "error in response", body, len);
		goto out;
	}
	if ((api == PB_API_ANTHROPIC ? anthropic_answer : openai_answer)(doc, &text,
	    &fin, body, len, err) < 0)
		goto out;
	model = pb_json_str(doc, "model");
	if (!model)
		model = fallback_model;
	fp = pb_json_str(doc, "system_fingerprint");
	if (!(out = cJSON_CreateObject()) ||
	    !cJSON_AddStringToObject(out, "text", text) ||
	    !(model ? cJSON_AddStringToObject(out, "model", model)
	            : cJSON_AddNullToObject(out, "model")) ||
	    !(fin ? cJSON_AddStringToObject(out, "finish_reason", fin)
	          : cJSON_AddNullToObject(out, "finish_reason")) ||
	    (fp && !cJSON_AddStringToObject(out, "system_fingerprint", fp)) ||
	    !(usage = usage_of(api, doc))) {
		cJSON_Delete(out);
		out = NULL;
		snprintf(err, PB_ERRLEN, "out of memory");
		goto out;
	}
	cJSON_AddItemToObject(out, "usage", usage);
	cJSON_AddNumberToObject(out, "latency_ms", round(latency_ms * 10) / 10);
out:
	free(text);
	cJSON_Delete(doc);
	return out;
}

/* Finds the provider's type, code and message in an error body of one
 * of the shapes pb_llm_error lists.  Returns 0 if a message was found. */
static int
error_shape(const cJSON *doc, const char **type, const char **code,
            const char **msg)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(doc, "error");

	*type = *code = NULL;
	if (cJSON_IsObject(e)) {
		/* OpenAI, and Anthropic {"type":"error","error":{...}} */
		*msg = pb_json_str(e, "message");
		*type = pb_json_str(e, "type");
		*code = pb_json_str(e, "code");
		if (!*type)
			*type = *code;
		return *msg ? 0 : -1;
	}
	if (cJSON_IsString(e)) { /* Ollama, llama.cpp: {"error":"text"} */
		*msg = e->valuestring;
		return 0;
	}
	if ((*msg = pb_json_str(doc, "message"))) { /* vLLM: "object":"error" */
		*type = pb_json_str(doc, "type");
		*code = pb_json_str(doc, "code");
		return 0;
	}
	if ((*msg = pb_json_str(doc, "detail"))) /* FastAPI-based servers */
		return 0;
	return -1;
}

cJSON *
pb_llm_error(const char *kind, long status, const char *body, size_t len,
             const char *detail)
{
	cJSON *doc = NULL, *o;
	const char *type = NULL, *code = NULL, *msg = NULL;
	char buf[PB_ERRLEN];

	if (body && len && (doc = cJSON_ParseWithLength(body, len)) &&
	    error_shape(doc, &type, &code, &msg) == 0) {
		/* the provider's own words */
	} else if (detail) {
		msg = detail;
		type = code = NULL;
	} else {
		/* An HTML page from a proxy says more quoted than described. */
		if (body && len)
			snippet(body, len, buf, sizeof buf);
		else
			snprintf(buf, sizeof buf, status ? "empty response body" : "no response");
		msg = buf;
		type = code = NULL;
	}
	/* The code only when it says more than the type. */
	if (code && type && !strcmp(code, type))
		code = NULL;
	if (!(o = cJSON_CreateObject()) ||
	    !cJSON_AddStringToObject(o, "kind", kind) ||
	    !cJSON_AddNumberToObject(o, "status", (double)status) ||
	    !(type ? cJSON_AddStringToObject(o, "type", type)
	           : cJSON_AddNullToObject(o, "type")) ||
	    (code && !cJSON_AddStringToObject(o, "code", code)) ||
	    !cJSON_AddStringToObject(o, "message", msg)) {
		cJSON_Delete(o);
		o = NULL;
	}
	cJSON_Delete(doc);
	return o;
}

void
pb_llm_error_line(const cJSON *error, char out[PB_ERRLEN])
{
	const char *kind = pb_json_str(error, "kind");
	const char *msg = pb_json_str(error, "message");
	double status = 0;
	char *p;

	pb_json_num(error, "status", &status);
	if (kind && !strcmp(kind, "http"))
		snprintf(out, PB_ERRLEN, "HTTP %.0f: %s", status, msg ? msg : "");
	else
		snprintf(out, PB_ERRLEN, "%s: %s", kind ? kind : "error", msg ? msg : "");
	for (p = out; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

