/* client.c - one model client set-up, shared by pb-query and pb-score's
 * judge: the header lines and the secrets among them, the CA files, the
 * URL (pb_llm_conn), and the user's choices made into struct
 * pb_query_opts (pb_client). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "llm.h"

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

