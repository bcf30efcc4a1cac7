/* stream.c - a reply as server-sent events, in each API's format: the
 * finished reply object cut into the events a streaming client expects. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ----------------------------------------------------------- streaming */

/* Appends "event: NAME\n" (if name) and "data: JSON\n\n" of o (taken). */
static int
sse_event(struct pb_buf *b, const char *name, cJSON *o)
{
	char *t = o ? cJSON_PrintUnformatted(o) : NULL;
	int rv = -1;

	if (t && (!name || (pb_buf_put(b, "event: ", 7) == 0 &&
	                    pb_buf_put(b, name, strlen(name)) == 0 &&
	                    pb_buf_put(b, "\n", 1) == 0)) &&
	    pb_buf_put(b, "data: ", 6) == 0 && pb_buf_put(b, t, strlen(t)) == 0 &&
	    pb_buf_put(b, "\n\n", 2) == 0)
		rv = 0;
	free(t);
	cJSON_Delete(o);
	return rv;
}

/* The length of the next piece of text to send: about 12 bytes, never
 * cutting a UTF-8 sequence. */
static size_t
piece(const char *t)
{
	size_t n = 0;

	while (t[n] && n < 12)
		n++;
	while (t[n] && ((unsigned char)t[n] & 0xc0) == 0x80)
		n++;
	return n;
}

static cJSON *
dup_item(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull();
}

/* OpenAI's chat.completion.chunk of one choice delta. */
static cJSON *
openai_chunk(const cJSON *full, cJSON *delta, const char *finish)
{
	cJSON *o = cJSON_CreateObject(), *ch, *c;

	if (!o || !delta) {
		cJSON_Delete(o);
		cJSON_Delete(delta);
		return NULL;
	}
	cJSON_AddItemToObject(o, "id", dup_item(full, "id"));
	cJSON_AddStringToObject(o, "object", "chat.completion.chunk");
	cJSON_AddNumberToObject(o, "created", 0);
	cJSON_AddItemToObject(o, "model", dup_item(full, "model"));
	ch = cJSON_AddArrayToObject(o, "choices");
	c = cJSON_CreateObject();
	cJSON_AddItemToArray(ch, c);
	cJSON_AddNumberToObject(c, "index", 0);
	cJSON_AddItemToObject(c, "delta", delta);
	cJSON_AddNullToObject(c, "logprobs");
	if (finish)
		cJSON_AddStringToObject(c, "finish_reason", finish);
	else
		cJSON_AddNullToObject(c, "finish_reason");
	return o;
}

/* A chat.completion as OpenAI streams it: a role chunk, the content in
 * pieces, a chunk with the finish reason (and x_pb_sim), a usage chunk
 * if asked for (stream_options.include_usage), then [DONE]. */
char *
sim_openai_sse(const cJSON *full, int include_usage)
{
	const cJSON *choice = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(full,
	                      "choices"), 0);
	const char *text = pb_json_str(cJSON_GetObjectItemCaseSensitive(choice, "message"),
	                               "content"), *fin = pb_json_str(choice, "finish_reason");
	struct pb_buf b = { NULL, 0, 0 };
	cJSON *d, *last;
	size_t n;
	int bad = 0;

	d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "role", "assistant");
	cJSON_AddStringToObject(d, "content", "");
	bad |= sse_event(&b, NULL, openai_chunk(full, d, NULL));
	for (; text && *text && !bad; text += n) {
		char buf[64];
		n = piece(text);
		memcpy(buf, text, n);
		buf[n] = '\0';
		d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "content", buf);
		bad |= sse_event(&b, NULL, openai_chunk(full, d, NULL));
	}
	if ((last = openai_chunk(full, cJSON_CreateObject(), fin ? fin : "stop")))
		cJSON_AddItemToObject(last, "x_pb_sim", dup_item(full, "x_pb_sim"));
	bad |= sse_event(&b, NULL, last);
	if (include_usage && !bad && (last = cJSON_CreateObject())) {
		cJSON_AddItemToObject(last, "id", dup_item(full, "id"));
		cJSON_AddStringToObject(last, "object", "chat.completion.chunk");
		cJSON_AddNumberToObject(last, "created", 0);
		cJSON_AddItemToObject(last, "model", dup_item(full, "model"));
		cJSON_AddArrayToObject(last, "choices");
		cJSON_AddItemToObject(last, "usage", dup_item(full, "usage"));
		bad |= sse_event(&b, NULL, last);
	}
	if (bad || pb_buf_put(&b, "data: [DONE]\n\n", 14) < 0 || pb_buf_put(&b, "", 1) < 0) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

static cJSON *
typed(const char *type)
{
	cJSON *o = cJSON_CreateObject();

	if (o && !cJSON_AddStringToObject(o, "type", type)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* An Anthropic message as it streams: message_start (usage's input
 * tokens), content_block_start, a ping, text_delta pieces,
 * content_block_stop, message_delta (stop reason, output tokens,
 * x_pb_sim), message_stop. */
char *
sim_anthropic_sse(const cJSON *full)
{
	const cJSON *blk = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(full,
	                   "content"), 0), *u = cJSON_GetObjectItemCaseSensitive(full, "usage");
	const char *text = pb_json_str(blk, "text");
	struct pb_buf b = { NULL, 0, 0 };
	cJSON *e, *m, *x;
	size_t n;
	int bad = 0;

	if ((e = typed("message_start")) && (m = cJSON_Duplicate(full, 1))) {
		cJSON_DeleteItemFromObjectCaseSensitive(m, "x_pb_sim");
		pb_json_set(m, "content", cJSON_CreateArray());
		pb_json_set(m, "stop_reason", cJSON_CreateNull());
		pb_json_set(m, "stop_sequence", cJSON_CreateNull());
		if ((x = cJSON_GetObjectItemCaseSensitive(m, "usage")))
			pb_json_set(x, "output_tokens", cJSON_CreateNumber(1));
		cJSON_AddItemToObject(e, "message", m);
	}
	bad |= sse_event(&b, "message_start", e);
	if ((e = typed("content_block_start"))) {
		cJSON_AddNumberToObject(e, "index", 0);
		x = typed("text");
		cJSON_AddStringToObject(x, "text", "");
		cJSON_AddItemToObject(e, "content_block", x);
	}
	bad |= sse_event(&b, "content_block_start", e);
	bad |= sse_event(&b, "ping", typed("ping"));
	for (; text && *text && !bad; text += n) {
		char buf[64];
		n = piece(text);
		memcpy(buf, text, n);
		buf[n] = '\0';
		if ((e = typed("content_block_delta"))) {
			cJSON_AddNumberToObject(e, "index", 0);
			x = typed("text_delta");
			cJSON_AddStringToObject(x, "text", buf);
			cJSON_AddItemToObject(e, "delta", x);
		}
		bad |= sse_event(&b, "content_block_delta", e);
	}
	if ((e = typed("content_block_stop")))
		cJSON_AddNumberToObject(e, "index", 0);
	bad |= sse_event(&b, "content_block_stop", e);
	if ((e = typed("message_delta"))) {
		x = cJSON_AddObjectToObject(e, "delta");
		cJSON_AddItemToObject(x, "stop_reason", dup_item(full, "stop_reason"));
		cJSON_AddItemToObject(x, "stop_sequence", dup_item(full, "stop_sequence"));
		x = cJSON_AddObjectToObject(e, "usage");
		cJSON_AddItemToObject(x, "output_tokens", dup_item(u, "output_tokens"));
		cJSON_AddItemToObject(e, "x_pb_sim", dup_item(full, "x_pb_sim"));
	}
	bad |= sse_event(&b, "message_delta", e);
	bad |= sse_event(&b, "message_stop", typed("message_stop"));
	if (bad || pb_buf_put(&b, "", 1) < 0) {
		free(b.p);
		return NULL;
	}
	return b.p;
}
