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

static int
bputs(struct pb_buf *b, const char *s)
{
	return pb_buf_put(b, s, strlen(s));
}

/* Whether the n bytes at s end with the string end. */
static int
ends_with(const char *s, size_t n, const char *end)
{
	size_t k = strlen(end);

	return n >= k && !memcmp(s + n - k, end, k);
}

/* Whether the n bytes at s hold the string needle. */
static int
holds(const char *s, size_t n, const char *needle)
{
	size_t k = strlen(needle), i;

	for (i = 0; i + k <= n; i++)
		if (!memcmp(s + i, needle, k))
			return 1;
	return 0;
}

char *
pb_llm_endpoint(const char *base, enum pb_llm_api api, const char *model,
                char err[PB_ERRLEN])
{
	const char *env = api == PB_API_ANTHROPIC ? "ANTHROPIC_BASE_URL" :
	                  api == PB_API_AZURE ? "AZURE_OPENAI_ENDPOINT" : "OPENAI_BASE_URL";
	const char *auth, *host_end, *path, *qry, *p, *ver = NULL;
	size_t plen, qlen, n;
	struct pb_buf b = { NULL, 0, 0 };
	int deployment;

	if (base && !*base) {
		snprintf(err, PB_ERRLEN, "the base URL is empty");
		return NULL;
	}
	if (!base && (base = getenv(env)) && !*base)
		base = NULL; /* set but empty: as if unset */
	if (!base) {
		if (api == PB_API_AZURE) {
			snprintf(err, PB_ERRLEN, "Azure needs the resource's URL: give "
			         "--base-url or set $AZURE_OPENAI_ENDPOINT");
			return NULL;
		}
		base = api == PB_API_ANTHROPIC ? PB_ANTHROPIC_URL : PB_OPENAI_URL;
	}
	if (!strncmp(base, "http://", 7))
		auth = base + 7;
	else if (!strncmp(base, "https://", 8))
		auth = base + 8;
	else {
		snprintf(err, PB_ERRLEN, "base URL '%s' is not http:// or https://", base);
		return NULL;
	}
	for (p = base; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			snprintf(err, PB_ERRLEN, "base URL has a space or control character");
			return NULL;
		}
	host_end = auth + strcspn(auth, "/?#");
	/* Credentials in the URL would be copied wherever the URL goes (a
	 * dry run, a message); the password is never quoted back. */
	if (memchr(auth, '@', (size_t)(host_end - auth))) {
		snprintf(err, PB_ERRLEN, "base URL has a user name or password "
		         "(user:pw@host): send credentials with --header instead");
		return NULL;
	}
	if (host_end == auth || *auth == ':') {
		snprintf(err, PB_ERRLEN, "base URL '%s' has no host", base);
		return NULL;
	}
	if (strchr(host_end, '#')) {
		snprintf(err, PB_ERRLEN, "base URL '%s' has a fragment (#...)", base);
		return NULL;
	}
	path = host_end;
	plen = strcspn(path, "?");
	qry = path[plen] == '?' ? path + plen + 1 : NULL;
	qlen = qry ? strlen(qry) : 0;
	while (plen > 0 && path[plen - 1] == '/')
		plen--;
	n = (size_t)(path - base) + plen;
	if (pb_buf_put(&b, base, n) < 0)
		goto oom;
	deployment = holds(path, plen, "/deployments/");
	if (api == PB_API_ANTHROPIC) {
		/* As Anthropic's SDK joins ANTHROPIC_BASE_URL and /v1/messages;
		 * a base that already ends in /v1 (the default, pb-sim's URL)
		 * gets /messages. */
		if (bputs(&b, ends_with(path, plen, "/v1") ? "/messages" :
		                "/v1/messages") < 0)
			goto oom;
	} else if (api == PB_API_AZURE && !deployment &&
	           !ends_with(path, plen, "/openai/v1")) {
		if (!model || !*model || strcspn(model, "/?#%") != strlen(model)) {
			snprintf(err, PB_ERRLEN, "Azure: the deployment name (--model) "
			         "is empty or has /, ?, # or %%");
			free(b.p);
			return NULL;
		}
		if (bputs(&b, "/openai/deployments/") < 0 ||
		    bputs(&b, model) < 0 || bputs(&b, "/chat/completions") < 0)
			goto oom;
		deployment = 1;
	} else if (bputs(&b, "/chat/completions") < 0) {
		goto oom;
	}
	/* Azure's deployment URLs need an api-version; the v1 API none. */
	if (api == PB_API_AZURE && deployment &&
	    !(qry && (holds(qry, qlen, "api-version=")))) {
		ver = getenv("OPENAI_API_VERSION");
		if (!ver || !*ver)
			ver = PB_AZURE_API_VERSION;
	}
	if ((qry || ver) && pb_buf_put(&b, "?", 1) < 0)
		goto oom;
	if (qry && pb_buf_put(&b, qry, qlen) < 0)
		goto oom;
	if (ver && ((qlen && pb_buf_put(&b, "&", 1) < 0) ||
	            bputs(&b, "api-version=") < 0 || bputs(&b, ver) < 0))
		goto oom;
	if (pb_buf_put(&b, "", 1) < 0)
		goto oom;
	return b.p;
oom:
	free(b.p);
	snprintf(err, PB_ERRLEN, "out of memory");
	return NULL;
}

/* RFC 9110's token characters, those a header name is made of. */
static int
tchar(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

char *
pb_llm_header(const char *s, char err[PB_ERRLEN])
{
	size_t n = 0, vn;
	const char *v;
	char *out;

	while (tchar((unsigned char)s[n]))
		n++;
	if (!n || s[n] != ':') {
		/* The name alone: the value may be a secret. */
		snprintf(err, PB_ERRLEN, "not NAME:VALUE (a header name is letters, "
		         "digits and -_.!#$%%&'*+^`|~, then a colon)");
		return NULL;
	}
	for (v = s + n + 1; *v == ' ' || *v == '\t'; v++)
		;
	for (vn = strlen(v); vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t'); vn--)
		;
	for (size_t i = 0; i < vn; i++)
		if (((unsigned char)v[i] < ' ' && v[i] != '\t') || v[i] == 0x7f) {
			snprintf(err, PB_ERRLEN, "header %.*s: the value has a control "
			         "character", (int)(n < 64 ? n : 64), s);
			return NULL;
		}
	if (!vn) {
		snprintf(err, PB_ERRLEN, "header %.*s: empty value", (int)(n < 64 ? n : 64), s);
		return NULL;
	}
	if (!(out = malloc(n + vn + 3))) {
		snprintf(err, PB_ERRLEN, "out of memory");
		return NULL;
	}
	memcpy(out, s, n);
	memcpy(out + n, ": ", 2);
	memcpy(out + n + 2, v, vn);
	out[n + 2 + vn] = '\0';
	return out;
}

int
pb_llm_header_secret(const char *line)
{
	static const char *const words[] = { "auth", "key", "token", "secret",
	                                     "cookie", "password", "session" };
	size_t n = strcspn(line, ":"), i, k, j;

	for (i = 0; i < sizeof words / sizeof *words; i++)
		for (k = strlen(words[i]), j = 0; j + k <= n; j++)
			if (!strncasecmp(line + j, words[i], k))
				return 1;
	return 0;
}

/* Whether the header lines list has one named like the line s (up to
 * its colon, any case). */
static int
named(const char *const *list, const char *s)
{
	size_t n = strcspn(s, ":");

	for (; list && *list; list++)
		if (!strncasecmp(*list, s, n) && (*list)[n] == ':')
			return 1;
	return 0;
}

int
pb_llm_headers(enum pb_llm_api api, const char *key, const char *const *extra,
               const char ***h, char **auth)
{
	const char *name = api == PB_API_ANTHROPIC ? "x-api-key: " :
	                   api == PB_API_AZURE ? "api-key: " : "Authorization: Bearer ";
	const char *const *e;
	size_t i = 0, n = 4;

	*auth = NULL;
	for (e = extra; e && *e; e++)
		n++;
	if (!(*h = calloc(n, sizeof **h)))
		return -1;
	/* A header given by the user replaces the one made here. */
	if (!named(extra, "Content-Type:"))
		(*h)[i++] = "Content-Type: application/json";
	if (key && *key && !named(extra, name)) {
		if (!(*auth = malloc(strlen(name) + strlen(key) + 1))) {
			free(*h);
			*h = NULL;
			return -1;
		}
		strcpy(*auth, name);
		strcat(*auth, key);
		(*h)[i++] = *auth;
	}
	if (api == PB_API_ANTHROPIC && !named(extra, "anthropic-version:"))
		(*h)[i++] = "anthropic-version: " PB_ANTHROPIC_VERSION;
	for (e = extra; e && *e; e++)
		(*h)[i++] = *e;
	(*h)[i] = NULL;
	return 0;
}

/* Trims s in place: spaces, tabs and line ends at both ends. */
static char *
trim_line(char *s)
{
	char *p = s + strlen(s);

	while (p > s && (p[-1] == '\n' || p[-1] == '\r' || p[-1] == ' ' || p[-1] == '\t'))
		*--p = '\0';
	for (p = s; *p == ' ' || *p == '\t'; p++)
		;
	memmove(s, p, strlen(p) + 1);
	return s;
}

int
pb_llm_key(const char *keyfile, const char *keyenv, const char *dflt,
           char **key, char err[PB_ERRLEN])
{
	const char *where = keyfile ? keyfile : keyenv ? keyenv : dflt, *v;
	size_t cap = 0;
	ssize_t len;
	FILE *fp;
	char *p;

	*key = NULL;
	if (keyfile) {
		if (!(fp = fopen(keyfile, "r"))) {
			snprintf(err, PB_ERRLEN, "%s: %s", keyfile, strerror(errno));
			return -1;
		}
		len = getline(key, &cap, fp);
		fclose(fp);
		if (len < 0) {
			free(*key);
			*key = NULL;
			snprintf(err, PB_ERRLEN, "%s: no key on the first line", keyfile);
			return -1;
		}
	} else {
		v = getenv(keyenv ? keyenv : dflt);
		if (!v || !*v) {
			if (!keyenv)
				return 0;
			snprintf(err, PB_ERRLEN, "$%s is not set", keyenv);
			return -1;
		}
		if (!(*key = strdup(v))) {
			snprintf(err, PB_ERRLEN, "out of memory");
			return -1;
		}
	}
	trim_line(*key);
	if (!**key)
		snprintf(err, PB_ERRLEN, keyfile ? "%s: no key on the first line" :
		         "$%s is empty", where);
	for (p = *key; **key && *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			snprintf(err, PB_ERRLEN, "the API key in %s has spaces or control "
			         "characters", where);
			**key = '\0';
		}
	if (!**key) {
		free(*key);
		*key = NULL;
		return -1;
	}
	return 0;
}

int
pb_llm_header_file(const char *path, char ***lines, size_t *n,
                   char err[PB_ERRLEN])
{
	char *buf = NULL, *h, **t, e[PB_ERRLEN];
	size_t cap = 0;
	long lineno = 0;
	FILE *fp;
	int rv = 0;

	if (!(fp = fopen(path, "r"))) {
		snprintf(err, PB_ERRLEN, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (getline(&buf, &cap, fp) >= 0) {
		lineno++;
		trim_line(buf);
		if (!*buf || *buf == '#')
			continue;
		if (!(h = pb_llm_header(buf, e))) {
			snprintf(err, PB_ERRLEN, "%s:%ld: %s", path, lineno, e);
			rv = -1;
			break;
		}
		if (!(t = realloc(*lines, (*n + 2) * sizeof *t))) {
			free(h);
			snprintf(err, PB_ERRLEN, "out of memory");
			rv = -1;
			break;
		}
		*lines = t;
		t[(*n)++] = h;
		t[*n] = NULL;
	}
	if (rv == 0 && ferror(fp)) {
		snprintf(err, PB_ERRLEN, "%s: %s", path, strerror(errno));
		rv = -1;
	}
	if (buf) {
		explicit_bzero(buf, cap);
		free(buf);
	}
	fclose(fp);
	return rv;
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

/* ---- a connection's set-up: headers, secrets, CAs, URL ------------- */

/* Adds a copy of the n bytes at s to the secrets to redact; values too
 * short to be a credential are left alone (they would blank ordinary
 * text). */
static int
add_secret(struct pb_llm_conn *c, const char *s, size_t n)
{
	char **t, *v;

	if (n < 6)
		return 0;
	if (!(v = malloc(n + 1)) || !(t = realloc(c->secrets, (c->nsecrets + 2) * sizeof *t))) {
		free(v);
		return -1;
	}
	memcpy(v, s, n);
	v[n] = '\0';
	c->secrets = t;
	t[c->nsecrets++] = v;
	t[c->nsecrets] = NULL;
	return 0;
}

/* The value of a header line, and its last word ("Bearer KEY": KEY), as
 * secrets. */
static int
line_secrets(struct pb_llm_conn *c, const char *line)
{
	const char *v = strchr(line, ':') + 2, *w = strrchr(v, ' ');

	if (add_secret(c, v, strlen(v)) < 0 || (w && add_secret(c, w + 1, strlen(w + 1)) < 0))
		return -1;
	return 0;
}

int
pb_llm_conn_header(struct pb_llm_conn *c, const char *s, int secret,
                   char err[PB_ERRLEN])
{
	char *h = pb_llm_header(s, err), **t;

	if (!h)
		return -1;
	if (!(t = realloc(c->headers, (c->nheaders + 2) * sizeof *t))) {
		free(h);
		snprintf(err, PB_ERRLEN, "out of memory");
		return -1;
	}
	c->headers = t;
	t[c->nheaders++] = h;
	t[c->nheaders] = NULL;
	if ((secret || pb_llm_header_secret(h)) && line_secrets(c, h) < 0) {
		snprintf(err, PB_ERRLEN, "out of memory");
		return -1;
	}
	return 0;
}

int
pb_llm_conn_header_file(struct pb_llm_conn *c, const char *path,
                        char err[PB_ERRLEN])
{
	size_t i = c->nheaders;

	if (pb_llm_header_file(path, &c->headers, &c->nheaders, err) < 0)
		return -1;
	for (; i < c->nheaders; i++)
		if (line_secrets(c, c->headers[i]) < 0) {
			snprintf(err, PB_ERRLEN, "out of memory");
			return -1;
		}
	return 0;
}

const char *
pb_llm_key_env(enum pb_llm_api api)
{
	return api == PB_API_ANTHROPIC ? "ANTHROPIC_API_KEY" :
	       api == PB_API_AZURE ? "AZURE_OPENAI_API_KEY" : "OPENAI_API_KEY";
}

/* The first of the variables that is set and not empty, its name in
 * *name; NULL if none. */
static const char *
first_env(const char *a, const char *b, const char **name)
{
	const char *v;

	if ((v = getenv(a)) && *v)
		return *name = a, v;
	if (b && (v = getenv(b)) && *v)
		return *name = b, v;
	return NULL;
}

int
pb_llm_conn_setup(struct pb_llm_conn *c, enum pb_llm_api api, const char *base,
                  const char **model, char err[PB_ERRLEN])
{
	const char *from = "--cacert", *d, *e;
	struct stat st;
	FILE *fp;

	if (!c->cacert)
		c->cacert = first_env("CURL_CA_BUNDLE", "SSL_CERT_FILE", &from);
	if (c->cacert) {
		/* Checked now, so a bad bundle is one clear error, not a TLS
		 * failure per record. */
		if (!(fp = fopen(c->cacert, "r"))) {
			snprintf(err, PB_ERRLEN, "%s%s: %s: %s", from[0] == '-' ? "" : "$",
			         from, c->cacert, strerror(errno));
			return -1;
		}
		fclose(fp);
	}
	from = "--capath";
	if (!c->capath)
		c->capath = first_env("SSL_CERT_DIR", NULL, &from);
	if (c->capath && from[0] == '-') {
		if (stat(c->capath, &st) < 0) {
			snprintf(err, PB_ERRLEN, "--capath: %s: %s", c->capath, strerror(errno));
			return -1;
		}
		if (!S_ISDIR(st.st_mode)) {
			snprintf(err, PB_ERRLEN, "--capath: %s: not a folder", c->capath);
			return -1;
		}
	}
	if (!(c->url = pb_llm_endpoint(base, api, *model, err))) {
		if (api == PB_API_AZURE && !*model && !strncmp(err, "Azure: the deployment", 21))
			snprintf(err, PB_ERRLEN, "--api azure: give --model DEPLOYMENT (or "
			         "$PB_MODEL), or a base URL with /deployments/NAME in it");
		return -1;
	}
	if (!*model) {
		/* Azure, the deployment in the URL: the model's name too. */
		d = strstr(c->url, "/deployments/");
		d = d ? d + 13 : "";
		e = d + strcspn(d, "/?");
		if (!(c->model = malloc((size_t)(e - d) + 1))) {
			snprintf(err, PB_ERRLEN, "out of memory");
			return -1;
		}
		memcpy(c->model, d, (size_t)(e - d));
		c->model[e - d] = '\0';
		*model = c->model;
	}
	return 0;
}

void
pb_llm_conn_free(struct pb_llm_conn *c)
{
	size_t i;

	for (i = 0; i < c->nheaders; i++) {
		explicit_bzero(c->headers[i], strlen(c->headers[i]));
		free(c->headers[i]);
	}
	for (i = 0; i < c->nsecrets; i++) {
		explicit_bzero(c->secrets[i], strlen(c->secrets[i]));
		free(c->secrets[i]);
	}
	free(c->headers);
	free(c->secrets);
	free(c->url);
	free(c->model);
	memset(c, 0, sizeof *c);
}

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
