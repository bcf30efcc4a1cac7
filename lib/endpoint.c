/* endpoint.c - where a model's requests go and what they carry: the URL
 * from a base, header lines (given or read from a file), the provider's
 * headers and the API key. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "llm.h"
#include "internal.h"

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

