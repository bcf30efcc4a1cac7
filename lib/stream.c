/* stream.c - streamed answers: the fields asking for server-sent events,
 * and the events of OpenAI's and Anthropic's streams put back together
 * into the body one plain answer would have had. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm.h"

/* ---- streaming: server-sent events into one answer ----------------- */

int
pb_llm_stream_fields(cJSON *body, enum pb_llm_api api)
{
	cJSON *o;

	pb_json_set(body, "stream", cJSON_CreateTrue());
	if (api != PB_API_ANTHROPIC) {
		/* Without it OpenAI's streams carry no usage. */
		if (!(o = cJSON_CreateObject()) || !cJSON_AddTrueToObject(o, "include_usage")) {
			cJSON_Delete(o);
			return -1;
		}
		pb_json_set(body, "stream_options", o);
	}
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "stream")) ? 0 : -1;
}

struct stream {
	enum pb_llm_api api;
	struct pb_buf text;
	int got_text, blocks, done, oom;
	char *id, *model, *fp, *fin, *stop_seq;
	cJSON *usage;        /* OpenAI's, or Anthropic's merged */
	char err[PB_ERRLEN];
};

/* Keeps the first string value of key in o in *dst. */
static void
keep(char **dst, const cJSON *o, const char *key, struct stream *st)
{
	const char *v = pb_json_str(o, key);

	if (v && !*dst && !(*dst = strdup(v)))
		st->oom = 1;
}

static void
replace(char **dst, const cJSON *o, const char *key, struct stream *st)
{
	const char *v = pb_json_str(o, key);

	if (!v)
		return;
	free(*dst);
	if (!(*dst = strdup(v)))
		st->oom = 1;
}

static void
add_text(struct stream *st, const cJSON *o, const char *key)
{
	const char *v = pb_json_str(o, key);

	if (!v)
		return;
	st->got_text = 1;
	if (pb_buf_put(&st->text, v, strlen(v)) < 0)
		st->oom = 1;
}

/* Copies each number of from into the usage object. */
static void
merge_usage(struct stream *st, const cJSON *from)
{
	const cJSON *x;

	if (!cJSON_IsObject(from))
		return;
	if (!st->usage && !(st->usage = cJSON_CreateObject())) {
		st->oom = 1;
		return;
	}
	cJSON_ArrayForEach(x, from)
		if (cJSON_IsNumber(x))
			pb_json_set(st->usage, x->string, cJSON_CreateNumber(x->valuedouble));
}

/* One event's data. Returns -1 when it is an error (st->err set). */
static int
stream_event(struct stream *st, const char *data, size_t n)
{
	cJSON *d, *e;
	const cJSON *c, *x;
	const char *type, *msg;

	if (st->api != PB_API_ANTHROPIC && n == 6 && !memcmp(data, "[DONE]", 6)) {
		st->done = 1;
		return 0;
	}
	if (!(d = cJSON_ParseWithLength(data, n))) {
		snprintf(st->err, PB_ERRLEN, "an event of the stream is not JSON");
		return -1;
	}
	type = pb_json_str(d, "type");
	if ((e = cJSON_GetObjectItemCaseSensitive(d, "error")) || (type && !strcmp(type, "error"))) {
		msg = cJSON_IsString(e) ? e->valuestring : pb_json_str(e, "message");
		snprintf(st->err, PB_ERRLEN, "error in the stream: %s", msg ? msg : "(no message)");
		cJSON_Delete(d);
		return -1;
	}
	if (st->api != PB_API_ANTHROPIC) {
		keep(&st->id, d, "id", st);
		keep(&st->model, d, "model", st);
		keep(&st->fp, d, "system_fingerprint", st);
		c = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(d, "choices"), 0);
		add_text(st, cJSON_GetObjectItemCaseSensitive(c, "delta"), "content");
		replace(&st->fin, c, "finish_reason", st);
		merge_usage(st, cJSON_GetObjectItemCaseSensitive(d, "usage"));
	} else if (type && !strcmp(type, "message_start")) {
		x = cJSON_GetObjectItemCaseSensitive(d, "message");
		keep(&st->id, x, "id", st);
		keep(&st->model, x, "model", st);
		merge_usage(st, cJSON_GetObjectItemCaseSensitive(x, "usage"));
	} else if (type && !strcmp(type, "content_block_start")) {
		x = cJSON_GetObjectItemCaseSensitive(d, "content_block");
		st->blocks++;
		if ((type = pb_json_str(x, "type")) && !strcmp(type, "text"))
			add_text(st, x, "text");
	} else if (type && !strcmp(type, "content_block_delta")) {
		x = cJSON_GetObjectItemCaseSensitive(d, "delta");
		if ((type = pb_json_str(x, "type")) && !strcmp(type, "text_delta"))
			add_text(st, x, "text");
	} else if (type && !strcmp(type, "message_delta")) {
		x = cJSON_GetObjectItemCaseSensitive(d, "delta");
		replace(&st->fin, x, "stop_reason", st);
		replace(&st->stop_seq, x, "stop_sequence", st);
		merge_usage(st, cJSON_GetObjectItemCaseSensitive(d, "usage"));
	} else if (type && !strcmp(type, "message_stop")) {
		st->done = 1;
	}
	cJSON_Delete(d);
	return 0;
}

/* The answer as the API would have sent it whole. */
static cJSON *
stream_doc(struct stream *st)
{
	cJSON *o = cJSON_CreateObject(), *arr, *b, *m;
	const char *text;

	if (!o || pb_buf_put(&st->text, "", 1) < 0)
		goto oom;
	text = st->text.p;
	if (st->id)
		cJSON_AddStringToObject(o, "id", st->id);
	if (st->model)
		cJSON_AddStringToObject(o, "model", st->model);
	if (st->api == PB_API_ANTHROPIC) {
		cJSON_AddStringToObject(o, "type", "message");
		cJSON_AddStringToObject(o, "role", "assistant");
		if (!(arr = cJSON_AddArrayToObject(o, "content")))
			goto oom;
		/* Blocks but no text (a tool call only) stay no answer. */
		if (st->got_text || st->blocks) {
			b = cJSON_CreateObject();
			cJSON_AddItemToArray(arr, b);
			if (!b || !cJSON_AddStringToObject(b, "type", st->got_text ? "text" : "other") ||
			    (st->got_text && !cJSON_AddStringToObject(b, "text", text)))
				goto oom;
		}
		if (st->fin)
			cJSON_AddStringToObject(o, "stop_reason", st->fin);
		if (st->stop_seq)
			cJSON_AddStringToObject(o, "stop_sequence", st->stop_seq);
	} else {
		cJSON_AddStringToObject(o, "object", "chat.completion");
		if (st->fp)
			cJSON_AddStringToObject(o, "system_fingerprint", st->fp);
		if (!(arr = cJSON_AddArrayToObject(o, "choices")) ||
		    !(b = cJSON_CreateObject()))
			goto oom;
		cJSON_AddItemToArray(arr, b);
		cJSON_AddNumberToObject(b, "index", 0);
		if (!(m = cJSON_AddObjectToObject(b, "message")) ||
		    !cJSON_AddStringToObject(m, "role", "assistant"))
			goto oom;
		if (st->got_text ? !cJSON_AddStringToObject(m, "content", text)
		                 : !cJSON_AddNullToObject(m, "content"))
			goto oom;
		if (st->fin)
			cJSON_AddStringToObject(b, "finish_reason", st->fin);
	}
	if (st->usage) {
		cJSON_AddItemToObject(o, "usage", st->usage);
		st->usage = NULL;
	}
	return o;
oom:
	cJSON_Delete(o);
	return NULL;
}

char *
pb_llm_stream_assemble(enum pb_llm_api api, const char *body, size_t len,
                       char err[PB_ERRLEN])
{
	struct stream st = { 0 };
	struct pb_buf data = { NULL, 0, 0 };
	const char *p = body, *end = body + len, *nl, *v;
	size_t n, vn;
	char *out = NULL;
	cJSON *doc = NULL;
	int bad = 0, pending = 0;

	st.api = api;
	while (!bad && p <= end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (n && p[n - 1] == '\r')
			n--;
		if (n == 0) {
			/* A blank line (or the end) dispatches the event. */
			if (pending && stream_event(&st, data.p, data.len) < 0)
				bad = 1;
			data.len = 0;
			pending = 0;
		} else if (n >= 5 && !memcmp(p, "data:", 5)) {
			v = p + 5;
			vn = n - 5;
			if (vn && *v == ' ')
				v++, vn--;
			if ((pending && pb_buf_put(&data, "\n", 1) < 0) || pb_buf_put(&data, v, vn) < 0)
				st.oom = bad = 1;
			pending = 1;
		} /* event:, id:, retry: and comments say nothing we need */
		if (!nl)
			break;
		p = nl + 1;
	}
	if (!bad && pending && stream_event(&st, data.p, data.len) < 0)
		bad = 1;
	if (st.oom)
		snprintf(err, PB_ERRLEN, "out of memory");
	else if (bad)
		snprintf(err, PB_ERRLEN, "%s", st.err);
	else if (!st.done && !(api != PB_API_ANTHROPIC && st.fin))
		snprintf(err, PB_ERRLEN, "the stream ended before the answer did (%s)",
		         api == PB_API_ANTHROPIC ? "no message_stop" : "no [DONE]");
	else if (!(doc = stream_doc(&st)) || !(out = cJSON_PrintUnformatted(doc)))
		snprintf(err, PB_ERRLEN, "out of memory");
	cJSON_Delete(doc);
	free(data.p);
	free(st.text.p);
	free(st.id);
	free(st.model);
	free(st.fp);
	free(st.fin);
	free(st.stop_seq);
	cJSON_Delete(st.usage);
	return out;
}
