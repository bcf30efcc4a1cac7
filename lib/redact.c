/* redact.c - secrets (the API key, secret headers' values) replaced by
 * "[redacted]" in a response's raw text and in every string of its JSON,
 * before the cache or the record sees them. */
#include <stdlib.h>
#include <string.h>

#include "llm.h"
#include "internal.h"

/* The first occurrence of needle (n > 0 bytes) in the len bytes at s. */
static const char *
find(const char *s, size_t len, const char *needle, size_t n)
{
	const char *p = s, *end = s + len;

	while ((size_t)(end - p) >= n && (p = memchr(p, needle[0], (size_t)(end - p) - n + 1))) {
		if (!memcmp(p, needle, n))
			return p;
		p++;
	}
	return NULL;
}

/* Replaces every occurrence of secret in s (len bytes) by "[redacted]":
 * returns 1 with a malloc'd copy in *out (its length in *outlen if
 * outlen), 0 when secret is not there, -1 when out of memory. */
static int
redact(const char *s, size_t len, const char *secret, char **out, size_t *outlen)
{
	size_t n = secret ? strlen(secret) : 0, o = 0, hits = 0;
	const char *p, *hit, *end = s + len;
	char *r;

	*out = NULL;
	if (!n || !s)
		return 0;
	for (p = s; (hit = find(p, (size_t)(end - p), secret, n)); p = hit + n)
		hits++;
	if (!hits)
		return 0;
	if (!(r = malloc(len + hits * 10 + 1)))
		return -1;
	for (p = s; (hit = find(p, (size_t)(end - p), secret, n)); p = hit + n) {
		memcpy(r + o, p, (size_t)(hit - p));
		o += (size_t)(hit - p);
		memcpy(r + o, "[redacted]", 10);
		o += 10;
	}
	memcpy(r + o, p, (size_t)(end - p));
	o += (size_t)(end - p);
	r[o] = '\0';
	if (outlen)
		*outlen = o;
	*out = r;
	return 1;
}

int
pb_redact(const char *secret, const char *const *secrets, const char *s,
          size_t len, char **out, size_t *outlen)
{
	const char *const *sp = secrets;
	const char *sec = secret, *cur = s;
	size_t curlen = len;
	char *r, *held = NULL;

	*out = NULL;
	for (;;) {
		if (sec && redact(cur, curlen, sec, &r, &curlen) < 0) {
			free(held);
			return -1;
		}
		if (sec && r) {
			free(held);
			cur = held = r;
		}
		if (!sp || !*sp)
			break;
		sec = *sp++;
	}
	if (!held)
		return 0;
	*out = held;
	if (outlen)
		*outlen = curlen;
	return 1;
}

/* A cJSON-owned copy of the malloc'd s, which is freed. */
static char *
cjson_str(char *s)
{
	char *c = cJSON_malloc(strlen(s) + 1);

	if (c)
		strcpy(c, s);
	free(s);
	return c;
}

int
pb_redact_tree(const char *secret, const char *const *secrets, cJSON *o)
{
	cJSON *c;
	char *r;
	int any = 0, rc;

	for (; o; o = o->next) {
		if (o->string && !(o->type & cJSON_StringIsConst)) {
			if ((rc = pb_redact(secret, secrets, o->string, strlen(o->string), &r, NULL)) < 0)
				return -1;
			if (rc) {
				cJSON_free(o->string);
				if (!(o->string = cjson_str(r)))
					return -1;
				any = 1;
			}
		}
		if (cJSON_IsString(o) && o->valuestring) {
			if ((rc = pb_redact(secret, secrets, o->valuestring, strlen(o->valuestring), &r, NULL)) < 0)
				return -1;
			if (rc) {
				cJSON_free(o->valuestring);
				if (!(o->valuestring = cjson_str(r)))
					return -1;
				any = 1;
			}
		}
		if ((c = o->child) && (rc = pb_redact_tree(secret, secrets, c)) != 0) {
			if (rc < 0)
				return -1;
			any = 1;
		}
	}
	return any;
}
