/* client.c - one model client set-up, shared by pb-query and pb-score's
 * judge: the header lines and the secrets among them, the CA files, the
 * URL (pb_llm_conn), and the user's choices made into struct
 * pb_query_opts (pb_client). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "llm.h"
#include "internal.h"

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

/* ---- the user's choices made into a client --------------------------- */

void
pb_client_init(struct pb_client *c, const char *prefix, const char *default_model)
{
	memset(c, 0, sizeof *c);
	c->prefix = prefix;
	c->default_model = default_model;
	c->jobs = 8;
	c->timeout = 300;
	c->connect_timeout = 10;
	c->max_response = PB_CLIENT_MAX_RESPONSE;
	c->retry.retries = 5;
	c->retry.base_s = PB_RETRY_BASE;
	c->retry.cap_s = PB_RETRY_CAP;
	c->retry.max_wait_s = 120;
}

/* Puts "--OPTION: " before err's text (what, or nothing if what is NULL). */
static void
name_option(char err[PB_ERRLEN], const char *prefix, const char *what)
{
	char why[PB_ERRLEN];

	if (!what)
		return;
	snprintf(why, sizeof why, "%s", err);
	snprintf(err, PB_ERRLEN, "--%s%s: %s", prefix, what, why);
}

int
pb_client_option(struct pb_client *c, enum pb_client_opt opt, const char *arg,
                 char err[PB_ERRLEN])
{
	const char *pre = c->prefix;

	switch (opt) {
	case PB_CLIENT_API:
		if (!strcmp(arg, "openai"))
			c->api = PB_API_OPENAI;
		else if (!strcmp(arg, "anthropic"))
			c->api = PB_API_ANTHROPIC;
		else if (!strcmp(arg, "azure"))
			c->api = PB_API_AZURE;
		else {
			snprintf(err, PB_ERRLEN, "--%sapi: '%s' is not openai, anthropic "
			         "or azure", pre, arg);
			return -1;
		}
		return 0;
	case PB_CLIENT_MODEL:
		if (!*arg) {
			snprintf(err, PB_ERRLEN, "--%smodel: empty model name", pre);
			return -1;
		}
		c->model = arg;
		return 0;
	case PB_CLIENT_URL: c->base = arg; return 0;
	case PB_CLIENT_KEY_ENV: c->keyenv = arg; return 0;
	case PB_CLIENT_KEY_FILE: c->keyfile = arg; return 0;
	case PB_CLIENT_HEADER:
	case PB_CLIENT_HEADER_FILE:
		if ((opt == PB_CLIENT_HEADER ? pb_llm_conn_header(&c->conn, arg, 0, err) :
		     pb_llm_conn_header_file(&c->conn, arg, err)) == 0)
			return 0;
		name_option(err, pre, opt == PB_CLIENT_HEADER ? "header" : "header-file");
		return -1;
	case PB_CLIENT_CACERT: c->conn.cacert = arg; return 0;
	case PB_CLIENT_CAPATH: c->conn.capath = arg; return 0;
	case PB_CLIENT_CACHE:
		if (!*arg) {
			snprintf(err, PB_ERRLEN, "--cache: empty folder name");
			return -1;
		}
		c->cachedir = arg;
		return 0;
	case PB_CLIENT_NO_CACHE: c->nocache = 1; return 0;
	}
	snprintf(err, PB_ERRLEN, "not a client option: %d", (int)opt);
	return -1;
}

int
pb_client_check(const struct pb_client *c, char err[PB_ERRLEN])
{
	if (c->keyenv && c->keyfile) {
		snprintf(err, PB_ERRLEN, "--%skey-env and --%skey-file go alone",
		         c->prefix, c->prefix);
		return -1;
	}
	if (c->cachedir && c->nocache) {
		snprintf(err, PB_ERRLEN, "--cache and --no-cache go alone");
		return -1;
	}
	return 0;
}

/* The model: as given, else $PB_MODEL, else the default (OpenAI's;
 * Anthropic has none, Azure's is the deployment in the URL: NULL). */
static int
choose_model(struct pb_client *c, char err[PB_ERRLEN])
{
	const char *env = getenv("PB_MODEL");

	if (c->model)
		return 0;
	if (env && *env) {
		c->model = env;
		return 0;
	}
	if (c->api == PB_API_ANTHROPIC) {
		snprintf(err, PB_ERRLEN, "--%sapi anthropic: no default model; give "
		         "--%smodel (one of Anthropic's current models, such as "
		         "claude-haiku-4-5) or set $PB_MODEL", c->prefix, c->prefix);
		return -1;
	}
	if (c->api == PB_API_OPENAI)
		c->model = c->default_model;
	return 0;
}

/* The URL and the API key.  The judge's options (a prefix) are named in
 * every message, among pb-score's many; pb-query's URL message names
 * none, and its key's only a --key-env given. */
static int
url_and_key(struct pb_client *c, char err[PB_ERRLEN])
{
	int named = *c->prefix != '\0';

	if (pb_llm_conn_setup(&c->conn, c->api, c->base, &c->model, err) < 0) {
		name_option(err, c->prefix, named ? "url" : NULL);
		return -1;
	}
	if (c->dry_run)
		return 0;
	if (pb_llm_key(c->keyfile, c->keyenv, pb_llm_key_env(c->api), &c->key, err) < 0) {
		name_option(err, c->prefix, c->keyfile && named ? "key-file" :
		            c->keyenv || named ? "key-env" : NULL);
		return -1;
	}
	return 0;
}

int
pb_client_setup(struct pb_client *c, struct pb_query_opts *qo,
                char warn[PB_ERRLEN], char err[PB_ERRLEN])
{
	warn[0] = '\0';
	if (choose_model(c, err) < 0 || url_and_key(c, err) < 0)
		return -1;
	if (pb_llm_headers(c->api, c->key, (const char *const *)c->conn.headers,
	                   &c->headers, &c->auth) < 0) {
		snprintf(err, PB_ERRLEN, "out of memory");
		return -1;
	}
	if (!c->dry_run && !c->nocache &&
	    pb_cache_choose(c->cachedir, &c->cache, warn) < 0) {
		snprintf(err, PB_ERRLEN, "%s", warn);
		warn[0] = '\0';
		return -1;
	}
	qo->par.api = c->api;
	qo->par.model = c->model;
	qo->http.parallel = (int)c->jobs;
	qo->http.timeout_ms = (long)(c->timeout * 1000);
	qo->http.connect_timeout_ms = (long)(c->connect_timeout * 1000);
	qo->http.stall_ms = (long)(c->stall * 1000);
	qo->http.headers = c->headers;
	qo->http.cacert = c->conn.cacert;
	qo->http.capath = c->conn.capath;
	qo->http.max_response = (size_t)c->max_response;
	qo->url = c->conn.url;
	qo->secret = c->key;
	qo->secrets = (const char *const *)c->conn.secrets;
	qo->cache = c->cache;
	qo->retry = c->retry;
	qo->rpm = c->rpm;
	qo->tpm = c->tpm;
	qo->seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^
	           (uint64_t)(pb_clock() * 1e9);
	return 0;
}

/* Wipes a secret before freeing it. */
static void
wipe(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void
pb_client_started(struct pb_client *c)
{
	wipe(c->auth);
	c->auth = NULL;
	free(c->headers);
	c->headers = NULL;
}

void
pb_client_free(struct pb_client *c)
{
	pb_client_started(c);
	pb_cache_close(c->cache);
	pb_llm_conn_free(&c->conn);
	wipe(c->key);
	c->cache = NULL;
	c->key = NULL;
}
