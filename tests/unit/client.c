/* client.c - unit tests of lib/client.c (the client set-up pb-query and
 * the judge of pb-score share), of pb_cache_choose (cache.c) and of the
 * streamed canonical text (canon.c). */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "../../lib/pb.h"
#include "../../lib/internal.h"

static void
clear_env(void)
{
	static const char *const vars[] = { "PB_MODEL", "OPENAI_BASE_URL",
		"ANTHROPIC_BASE_URL", "AZURE_OPENAI_ENDPOINT", "OPENAI_API_KEY",
		"ANTHROPIC_API_KEY", "AZURE_OPENAI_API_KEY", "CURL_CA_BUNDLE",
		"SSL_CERT_FILE", "SSL_CERT_DIR", "XDG_CACHE_HOME", "HOME" };
	size_t i;

	for (i = 0; i < sizeof vars / sizeof *vars; i++)
		unsetenv(vars[i]);
}

static void
test_options(void)
{
	struct pb_client q, j;
	char err[PB_ERRLEN];

	pb_client_init(&q, "", "gpt-x");
	pb_client_init(&j, "judge-", "gpt-x");
	ok(q.jobs == 8 && q.timeout == 300 && q.connect_timeout == 10 && q.stall == 0 &&
	   q.max_response == PB_CLIENT_MAX_RESPONSE, "the defaults: 8 jobs, 300 s, 10 s, no stall, 16 MiB");
	ok(q.retry.retries == 5 && q.retry.max_wait_s == 120 &&
	   q.retry.base_s == PB_RETRY_BASE, "5 retries, waits up to 120 s");
	ok(pb_client_option(&q, PB_CLIENT_API, "anthropic", err) == 0 &&
	   q.api == PB_API_ANTHROPIC, "--api anthropic");
	ok(pb_client_option(&q, PB_CLIENT_API, "azure", err) == 0 && q.api == PB_API_AZURE,
	   "--api azure");
	ok(pb_client_option(&q, PB_CLIENT_API, "x", err) < 0, "--api x is refused");
	is_str(err, "--api: 'x' is not openai, anthropic or azure", "  by its name");
	ok(pb_client_option(&j, PB_CLIENT_API, "x", err) < 0, "--judge-api x is refused");
	is_str(err, "--judge-api: 'x' is not openai, anthropic or azure", "  with the prefix");
	pb_client_option(&j, PB_CLIENT_MODEL, "", err);
	is_str(err, "--judge-model: empty model name", "an empty model");
	pb_client_option(&q, PB_CLIENT_HEADER, "bad", err);
	ok(!strncmp(err, "--header: not NAME:VALUE", 24), "a bad header (%s)", err);
	pb_client_option(&j, PB_CLIENT_HEADER_FILE, "/nonexistent/h", err);
	is_str(err, "--judge-header-file: /nonexistent/h: No such file or directory",
	       "a header file that is not there");
	pb_client_option(&j, PB_CLIENT_CACHE, "", err);
	is_str(err, "--cache: empty folder name", "--cache has no prefix");
	ok(pb_client_option(&j, PB_CLIENT_HEADER, "X-Api-Key: abcdefgh", err) == 0 &&
	   j.conn.nheaders == 1 && j.conn.nsecrets == 1, "a header named like a key is a secret");

	pb_client_option(&j, PB_CLIENT_KEY_ENV, "A", err);
	pb_client_option(&j, PB_CLIENT_KEY_FILE, "B", err);
	ok(pb_client_check(&j, err) < 0, "a key variable and a key file go alone");
	is_str(err, "--judge-key-env and --judge-key-file go alone", "  said with the prefix");
	pb_client_option(&q, PB_CLIENT_CACHE, "d", err);
	pb_client_option(&q, PB_CLIENT_NO_CACHE, NULL, err);
	ok(pb_client_check(&q, err) < 0, "--cache and --no-cache go alone");
	is_str(err, "--cache and --no-cache go alone", "  so it says");
	pb_client_free(&q);
	pb_client_free(&j);
}

static void
test_setup(const char *dir)
{
	struct pb_query_opts qo = { 0 };
	struct pb_client c;
	char err[PB_ERRLEN], warn[PB_ERRLEN], path[512];
	FILE *fp;
	int rv;

	clear_env();
	pb_client_init(&c, "", "gpt-x");
	c.nocache = 1;
	c.jobs = 3;
	c.stall = 2.5;
	rv = pb_client_setup(&c, &qo, warn, err);
	ok(rv == 0, "a plain OpenAI client sets up");
	is_str(qo.par.model, "gpt-x", "  with the default model");
	is_str(qo.url, "https://api.openai.com/v1/chat/completions", "  OpenAI's URL");
	ok(qo.http.parallel == 3 && qo.http.timeout_ms == 300000 &&
	   qo.http.connect_timeout_ms == 10000 && qo.http.stall_ms == 2500,
	   "  its timeouts in ms");
	ok(!qo.secret && !qo.cache && !*warn, "  no key, no cache (--no-cache), no warning");
	is_str(qo.http.headers[0], "Content-Type: application/json", "  the JSON content type");
	ok(!qo.http.headers[1], "  and no key header");
	pb_client_free(&c);

	setenv("PB_MODEL", "from-env", 1);
	setenv("OPENAI_API_KEY", "sk-test-123456", 1);
	pb_client_init(&c, "", "gpt-x");
	c.nocache = 1;
	rv = pb_client_setup(&c, &qo, warn, err);
	ok(rv == 0, "with $PB_MODEL and $OPENAI_API_KEY");
	is_str(qo.par.model, "from-env", "  $PB_MODEL is the model");
	is_str(qo.secret, "sk-test-123456", "  the key is read");
	is_str(qo.http.headers[1], "Authorization: Bearer sk-test-123456", "  and sent");
	pb_client_started(&c);
	ok(!c.headers && !c.auth, "pb_client_started drops the header lines");
	pb_client_free(&c);
	unsetenv("PB_MODEL");

	pb_client_init(&c, "", "gpt-x");
	c.api = PB_API_ANTHROPIC;
	ok(pb_client_setup(&c, &qo, warn, err) < 0, "Anthropic has no default model");
	ok(strstr(err, "--api anthropic: no default model; give --model (") == err,
	   "  said for pb-query (%s)", err);
	pb_client_free(&c);
	pb_client_init(&c, "judge-", "gpt-x");
	c.api = PB_API_ANTHROPIC;
	pb_client_setup(&c, &qo, warn, err);
	ok(strstr(err, "--judge-api anthropic: no default model; give --judge-model (") == err,
	   "  and for the judge (%s)", err);
	pb_client_free(&c);

	pb_client_init(&c, "", "gpt-x");
	c.base = "ftp://x";
	pb_client_setup(&c, &qo, warn, err);
	ok(strncmp(err, "--", 2) != 0, "pb-query's URL message names no option (%s)", err);
	pb_client_free(&c);
	pb_client_init(&c, "judge-", "gpt-x");
	c.base = "ftp://x";
	pb_client_setup(&c, &qo, warn, err);
	ok(!strncmp(err, "--judge-url: ", 13), "the judge's names --judge-url (%s)", err);
	pb_client_free(&c);

	pb_client_init(&c, "", "gpt-x");
	c.keyenv = "PB_TEST_UNSET_KEY";
	pb_client_setup(&c, &qo, warn, err);
	is_str(err, "--key-env: $PB_TEST_UNSET_KEY is not set", "a --key-env that is unset");
	pb_client_free(&c);
	pb_client_init(&c, "", "gpt-x");
	c.keyfile = "/nonexistent/key";
	pb_client_setup(&c, &qo, warn, err);
	is_str(err, "/nonexistent/key: No such file or directory",
	       "pb-query's --key-file message names no option");
	pb_client_free(&c);
	pb_client_init(&c, "judge-", "gpt-x");
	c.keyfile = "/nonexistent/key";
	pb_client_setup(&c, &qo, warn, err);
	is_str(err, "--judge-key-file: /nonexistent/key: No such file or directory",
	       "the judge's names --judge-key-file");
	pb_client_free(&c);
	pb_client_init(&c, "", "gpt-x");
	c.keyenv = "PB_TEST_UNSET_KEY";
	c.dry_run = 1;
	ok(pb_client_setup(&c, &qo, warn, err) == 0 && !qo.secret && !qo.cache,
	   "a dry run reads no key and opens no cache");
	pb_client_free(&c);

	/* The cache: a named folder, no usable default, a folder that is a file. */
	pb_client_init(&c, "", "gpt-x");
	ok(pb_client_setup(&c, &qo, warn, err) == 0 && !qo.cache, "without $HOME: no cache");
	is_str(warn, "cache: no cache folder: neither $XDG_CACHE_HOME (absolute) nor $HOME is set "
	       "(going on without it)",
	       "  and a warning says so");
	pb_client_free(&c);
	snprintf(path, sizeof path, "%s/cache", dir);
	pb_client_init(&c, "", "gpt-x");
	c.cachedir = path;
	ok(pb_client_setup(&c, &qo, warn, err) == 0 && qo.cache && !*warn,
	   "a named cache folder is made and opened");
	is_str(qo.cache ? pb_cache_dir(qo.cache) : NULL, path, "  that folder");
	pb_client_free(&c);
	snprintf(path, sizeof path, "%s/file", dir);
	if ((fp = fopen(path, "w")))
		fclose(fp);
	pb_client_init(&c, "", "gpt-x");
	c.cachedir = path;
	ok(pb_client_setup(&c, &qo, warn, err) < 0 && !*warn, "a named cache that cannot be is an error");
	ok(strstr(err, path) != NULL, "  naming it (%s)", err);
	pb_client_free(&c);
	unsetenv("OPENAI_API_KEY");
}

struct pieces {
	char text[256];
	size_t len;
	int calls;
};

static void
collect(const void *p, size_t n, void *arg)
{
	struct pieces *s = arg;

	if (s->len + n < sizeof s->text) {
		memcpy(s->text + s->len, p, n);
		s->len += n;
		s->text[s->len] = '\0';
	}
	s->calls++;
}

static void
test_canon_emit(void)
{
	cJSON *v = parse("{\"b\":[1,0.70,\"x\\n\"],\"a\":{\"d\":null,\"c\":true}}");
	struct pieces s = { "", 0, 0 };
	char *whole = pb_json_canonical(v);

	pb_json_canonical_emit(v, collect, &s);
	is_str(s.text, "{\"a\":{\"c\":true,\"d\":null},\"b\":[1,0.7,\"x\\n\"]}",
	       "the streamed canonical text");
	is_str(whole, s.text, "is pb_json_canonical's");
	ok(s.calls > 1, "handed over in pieces (%d)", s.calls);
	free(whole);
	cJSON_Delete(v);
}

int
main(void)
{
	char dir[] = "/tmp/pb-client-XXXXXX", cmd[64];

	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp\n");
		return 2;
	}
	test_options();
	test_setup(dir);
	test_canon_emit();
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return tap_done();
}
