/* llm.c - OpenAI-style chat completions: request bodies from records, and
 * the "response" or "error" objects pb-query stores from the answers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pb.h"

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

char *
pb_llm_request(const cJSON *rec, const struct pb_llm_params *p, size_t *len)
{
	cJSON *body = cJSON_CreateObject();
	cJSON *msgs = cJSON_GetObjectItemCaseSensitive(rec, "messages");
	char *s = NULL;

	/* The messages go in by reference: printed, never copied or freed. */
	if (!body || !cJSON_AddStringToObject(body, "model", p->model) ||
	    !cJSON_AddItemReferenceToObject(body, "messages", msgs) ||
	    !cJSON_AddNumberToObject(body, "temperature", p->temperature) ||
	    (p->max_tokens > 0 &&
	     !cJSON_AddNumberToObject(body, "max_tokens", (double)p->max_tokens)) ||
	    (p->has_seed && !cJSON_AddNumberToObject(body, "seed", (double)p->seed)))
		goto out;
	s = cJSON_PrintUnformatted(body);
	if (s && len)
		*len = strlen(s);
out:
	cJSON_Delete(body);
	return s;
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

static cJSON *
usage_of(const cJSON *doc)
{
	const cJSON *u = cJSON_GetObjectItemCaseSensitive(doc, "usage");
	cJSON *o;
	double p, c, t;

	if (!cJSON_IsObject(u))
		return cJSON_CreateNull();
	if (!(o = cJSON_CreateObject()))
		return NULL;
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

cJSON *
pb_llm_response(const char *body, size_t len, double latency_ms,
                const char *fallback_model, char err[PB_ERRLEN])
{
	cJSON *doc, *out = NULL, *choice, *msg, *content, *fin, *usage;
	const char *model;

	if (!body || !(doc = cJSON_ParseWithLength(body, len))) {
		body_err(err, "response is not JSON", body, len);
		return NULL;
	}
	choice = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(doc, "choices"), 0);
	if (!cJSON_IsObject(choice)) {
		body_err(err, "no choices in response", body, len);
		goto out;
	}
	msg = cJSON_GetObjectItemCaseSensitive(choice, "message");
	content = cJSON_GetObjectItemCaseSensitive(msg, "content");
	if (!cJSON_IsString(content)) {
		body_err(err, "no content in response", body, len);
		goto out;
	}
	model = pb_json_str(doc, "model");
	if (!model)
		model = fallback_model;
	fin = cJSON_GetObjectItemCaseSensitive(choice, "finish_reason");
	if (!(out = cJSON_CreateObject()) ||
	    !cJSON_AddStringToObject(out, "text", content->valuestring) ||
	    !(model ? cJSON_AddStringToObject(out, "model", model)
	            : cJSON_AddNullToObject(out, "model")) ||
	    !(cJSON_IsString(fin) ? cJSON_AddStringToObject(out, "finish_reason", fin->valuestring)
	                          : cJSON_AddNullToObject(out, "finish_reason")) ||
	    !(usage = usage_of(doc))) {
		cJSON_Delete(out);
		out = NULL;
		snprintf(err, PB_ERRLEN, "out of memory");
		goto out;
	}
	cJSON_AddItemToObject(out, "usage", usage);
	cJSON_AddNumberToObject(out, "latency_ms", round(latency_ms * 10) / 10);
out:
	cJSON_Delete(doc);
	return out;
}

/* Finds the provider's type and message in an error body of one of the
 * shapes pb_llm_error lists.  Returns 0 if a message was found. */
static int
error_shape(const cJSON *doc, const char **type, const char **msg)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(doc, "error");
	const cJSON *code;

	*type = NULL;
	if (cJSON_IsObject(e)) {
		/* OpenAI, and Anthropic {"type":"error","error":{...}} */
		*msg = pb_json_str(e, "message");
		*type = pb_json_str(e, "type");
		if (!*type && (code = cJSON_GetObjectItemCaseSensitive(e, "code")) &&
		    cJSON_IsString(code))
			*type = code->valuestring;
		return *msg ? 0 : -1;
	}
	if (cJSON_IsString(e)) { /* Ollama, llama.cpp: {"error":"text"} */
		*msg = e->valuestring;
		return 0;
	}
	if ((*msg = pb_json_str(doc, "message"))) { /* vLLM: "object":"error" */
		*type = pb_json_str(doc, "type");
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
	const char *type = NULL, *msg = NULL;
	char buf[PB_ERRLEN];

	if (body && len && (doc = cJSON_ParseWithLength(body, len)) &&
	    error_shape(doc, &type, &msg) == 0) {
		/* the provider's own words */
	} else if (detail) {
		msg = detail;
		type = NULL;
	} else {
		/* An HTML page from a proxy says more quoted than described. */
		if (body && len)
			snippet(body, len, buf, sizeof buf);
		else
			snprintf(buf, sizeof buf, status ? "empty response body" : "no response");
		msg = buf;
		type = NULL;
	}
	if (!(o = cJSON_CreateObject()) ||
	    !cJSON_AddStringToObject(o, "kind", kind) ||
	    !cJSON_AddNumberToObject(o, "status", (double)status) ||
	    !(type ? cJSON_AddStringToObject(o, "type", type)
	           : cJSON_AddNullToObject(o, "type")) ||
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
