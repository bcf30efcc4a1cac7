/* cache.c - unit tests of lib/sha256.c and lib/cache.c: FIPS vectors,
 * request keys, entries on disk, damaged entries, concurrent writers. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"
#include "../../lib/pb.h"

static char tmpdir[] = "/tmp/pbcacheXXXXXX";

/* rm -r, for the temp folder. */
static void
rmtree(const char *path)
{
	struct dirent *d;
	struct stat st;
	char sub[4096];
	DIR *dp;

	if (lstat(path, &st) < 0)
		return;
	if (S_ISDIR(st.st_mode) && (dp = opendir(path))) {
		while ((d = readdir(dp)))
			if (strcmp(d->d_name, ".") && strcmp(d->d_name, "..")) {
				snprintf(sub, sizeof sub, "%s/%s", path, d->d_name);
				rmtree(sub);
			}
		closedir(dp);
		rmdir(path);
	} else {
		unlink(path);
	}
}

/* Entries in a folder other than . and .. */
static int
count_files(const char *path)
{
	struct dirent *d;
	DIR *dp = opendir(path);
	int n = 0;

	if (!dp)
		return -1;
	while ((d = readdir(dp)))
		n += strcmp(d->d_name, ".") && strcmp(d->d_name, "..");
	closedir(dp);
	return n;
}

static void
writefile(const char *path, const char *text, size_t n)
{
	FILE *fp = fopen(path, "w");
	fwrite(text, 1, n, fp);
	fclose(fp);
}

static char *
readfile(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf = calloc(1, 1 << 16);
	size_t n = fp ? fread(buf, 1, (1 << 16) - 1, fp) : 0;

	if (fp)
		fclose(fp);
	buf[n] = '\0';
	return buf;
}

static int
mode_of(const char *path)
{
	struct stat st;
	return stat(path, &st) < 0 ? -1 : (int)(st.st_mode & 07777);
}

/* ---- SHA-256 ---------------------------------------------------------- */

static void
test_sha256(void)
{
	static const struct { const char *msg, *hex; } fips[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
		{ "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
		  "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
		  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
	};
	/* n times 'a' around the padding boundaries (from sha256sum). */
	static const struct { int n; const char *hex; } as[] = {
		{ 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318" },
		{ 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a" },
		{ 63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34" },
		{ 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb" },
		{ 65, "635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0" },
		{ 119, "31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb" },
		{ 120, "2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c" },
	};
	const char *million = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
	struct pb_sha256 c;
	unsigned char msg[200], raw[32];
	char hex[65], one[65], buf[1000];
	size_t i, k, bad;

	for (i = 0; i < sizeof fips / sizeof fips[0]; i++) {
		pb_sha256_hex(fips[i].msg, strlen(fips[i].msg), hex);
		is_str(hex, fips[i].hex, "sha256 FIPS vector %zu (%zu bytes)", i,
		       strlen(fips[i].msg));
	}
	memset(buf, 'a', sizeof buf);
	for (i = 0; i < sizeof as / sizeof as[0]; i++) {
		pb_sha256_hex(buf, (size_t)as[i].n, hex);
		is_str(hex, as[i].hex, "sha256 of %d times 'a'", as[i].n);
	}
	pb_sha256_init(&c);
	for (i = 0; i < 1000; i++)
		pb_sha256_update(&c, buf, 1000);
	pb_sha256_final_hex(&c, hex);
	is_str(hex, million, "sha256 of one million 'a' in 1000-byte pieces");
	pb_sha256_init(&c);
	for (i = 0; i < 1000000; i++)
		pb_sha256_update(&c, "a", 1);
	pb_sha256_final_hex(&c, hex);
	is_str(hex, million, "sha256 of one million 'a' a byte at a time");

	for (i = 0; i < sizeof msg; i++)
		msg[i] = (unsigned char)(i * 7 + 3);
	pb_sha256_hex(msg, sizeof msg, one);
	is_str(one, "2c7e18c942ef065b526a2d4e5546283749cd3ddfb51d8fc71f42717363685f46",
	       "sha256 of the 200-byte message in one piece");
	for (bad = 0, i = 0; i <= sizeof msg; i++) {
		pb_sha256_init(&c);
		pb_sha256_update(&c, msg, i);
		pb_sha256_update(&c, msg + i, sizeof msg - i);
		pb_sha256_final_hex(&c, hex);
		bad += strcmp(hex, one) != 0;
	}
	ok(bad == 0, "split at each of the 201 offsets: same hash (%zu differ)", bad);
	for (bad = 0, i = 0; i <= sizeof msg; i += 3)
		for (k = i; k <= sizeof msg; k += 5) {
			pb_sha256_init(&c);
			pb_sha256_update(&c, msg, i);
			pb_sha256_update(&c, msg + i, k - i);
			pb_sha256_update(&c, msg + k, sizeof msg - k);
			pb_sha256_final_hex(&c, hex);
			bad += strcmp(hex, one) != 0;
		}
	ok(bad == 0, "split in three pieces at many offsets: same hash (%zu differ)",
	   bad);
	pb_sha256_init(&c);
	pb_sha256_update(&c, "abc", 3);
	pb_sha256_final(&c, raw);
	ok(raw[0] == 0xba && raw[31] == 0xad, "pb_sha256_final gives the raw bytes");
}

/* ---- canonical text and keys ------------------------------------------ */

static void
test_canonical(void)
{
	cJSON *a = parse("{\"b\":1,\"a\":{\"d\":[1,{\"z\":0,\"y\":\"\\u0001\\\"\\\\\\n\"}],"
	                 "\"c\":0.70,\"e\":true,\"f\":null,\"g\":false},\"\":-2.5e-3}");
	cJSON *b = parse("{\"a\":{\"g\":false,\"f\":null,\"e\":true,\"c\":0.7,"
	                 "\"d\":[1,{\"y\":\"\\u0001\\\"\\\\\\n\",\"z\":0}]},\"\":-0.0025,\"b\":1.0}");
	cJSON *dup = parse("{\"k\":2,\"a\":0,\"k\":1}"), *nums;
	char *ta = pb_json_canonical(a), *tb = pb_json_canonical(b), *td;

	is_str(ta, "{\"\":-0.0025,\"a\":{\"c\":0.7,\"d\":[1,{\"y\":\"\\u0001\\\"\\\\\\n\","
	       "\"z\":0}],\"e\":true,\"f\":null,\"g\":false},\"b\":1}",
	       "canonical text: keys sorted at every level, compact, short numbers");
	is_str(tb, ta, "canonical text does not depend on key order or number spelling");
	td = pb_json_canonical(dup);
	is_str(td, "{\"a\":0,\"k\":2,\"k\":1}", "duplicate keys keep their order");
	free(ta);
	free(tb);
	free(td);
	nums = parse("[-0.0,0,1e400,1E2,-1.5e-7,0.1]");
	td = pb_json_canonical(nums);
	is_str(td, "[0,0,null,100,-1.5e-07,0.1]", "numbers: -0 is 0, infinities null");
	free(td);
	cJSON_Delete(nums);
	td = pb_json_canonical(NULL);
	is_str(td, "null", "canonical text of no value is null");
	free(td);
	cJSON_Delete(a);
	cJSON_Delete(b);
	cJSON_Delete(dup);
}

static int
is_hex64(const char *k)
{
	size_t i;
	for (i = 0; i < 64; i++)
		if (!strchr("0123456789abcdef", k[i]))
			return 0;
	return k[64] == '\0';
}

static void
test_keys(void)
{
	const char *url = "http://127.0.0.1:8080/v1/chat/completions";
	cJSON *b1 = parse("{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
	                  "\"content\":\"hi \\\"there\\\"\\n\"}],\"temperature\":0.7}");
	cJSON *b2 = parse("{\"temperature\":0.7,\"messages\":[{\"content\":"
	                  "\"hi \\\"there\\\"\\n\",\"role\":\"user\"}],\"model\":\"m\"}");
	cJSON *b3 = parse("{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
	                  "\"content\":\"hi \\\"there\\\"\\n\"}],\"temperature\":0.8}");
	cJSON *s1 = parse("\"x\""), *s2 = parse("\"\"");
	char k1[65], k2[65], k3[65];

	pb_cache_key(url, "openai", b1, 3, NULL, k1);
	ok(is_hex64(k1), "a key is 64 lowercase hex digits");
	/* Worked out apart, in Python: sha256 over 8-byte big-endian length
	 * + bytes of each field, the body from json.dumps(sort_keys=True,
	 * separators=(",",":")).  Pinning it means a change to the encoding,
	 * which would quietly orphan every cached entry, shows up here. */
	is_str(k1, "2f0e19b2871605031f635c6e1df735c1b678477f591c3314e0b8e946ab9b2556",
	       "the key is the documented encoding");
	pb_cache_key(url, "openai", b1, 3, NULL, k2);
	is_str(k2, k1, "same inputs, same key");
	pb_cache_key(url, "openai", b2, 3, NULL, k2);
	is_str(k2, k1, "key order in the body does not matter");
	pb_cache_key(url, "openai", b1, 4, NULL, k2);
	ok(strcmp(k1, k2) != 0, "another sample, another key");
	pb_cache_key(url, "openai", b1, 3, "run-a", k2);
	pb_cache_key(url, "openai", b1, 3, "run-b", k3);
	ok(strcmp(k1, k2) != 0 && strcmp(k2, k3) != 0,
	   "a run id salts the sample: another run, another key");
	pb_cache_key(url, "openai", b1, 3, "run-a", k3);
	is_str(k3, k2, "the same run, the same key");
	pb_cache_key(url, "openai", b1, 0, NULL, k2);
	pb_cache_key(url, "openai", b1, -0, NULL, k3);
	ok(strcmp(k1, k2) != 0 && !strcmp(k2, k3), "sample 0 differs from 3");
	pb_cache_key("http://127.0.0.1:8081/v1/chat/completions", "openai", b1, 3, NULL, k2);
	ok(strcmp(k1, k2) != 0, "another endpoint, another key");
	pb_cache_key(url, "anthropic", b1, 3, NULL, k2);
	ok(strcmp(k1, k2) != 0, "another api, another key");
	pb_cache_key(url, "openai", b3, 3, NULL, k2);
	ok(strcmp(k1, k2) != 0, "another body (temperature), another key");
	pb_cache_key("ab", "c", b1, 3, NULL, k2);
	pb_cache_key("a", "bc", b1, 3, NULL, k3);
	ok(strcmp(k2, k3) != 0, "fields are length-prefixed: (ab,c) and (a,bc) differ");
	pb_cache_key("a", "openai", s1, 3, NULL, k2);
	pb_cache_key("a\"x", "openai", s2, 3, NULL, k3);
	ok(strcmp(k2, k3) != 0, "endpoint and body do not run together");
	pb_cache_key("e", "openai", s1, 12, NULL, k2);
	pb_cache_key("e", "openai", s2, 12, NULL, k3);
	ok(strcmp(k2, k3) != 0, "body and sample do not run together");
	pb_cache_key(NULL, NULL, NULL, 0, NULL, k2);
	pb_cache_key("", "", NULL, 0, NULL, k3);
	is_str(k2, k3, "NULL endpoint and api count as \"\"");
	cJSON_Delete(b1);
	cJSON_Delete(b2);
	cJSON_Delete(b3);
	cJSON_Delete(s1);
	cJSON_Delete(s2);
}

/* ---- the folder ------------------------------------------------------- */

static void
test_default_dir(void)
{
	char err[PB_ERRLEN], *old_xdg, *old_home, *d;

	old_xdg = getenv("XDG_CACHE_HOME") ? strdup(getenv("XDG_CACHE_HOME")) : NULL;
	old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;

	setenv("XDG_CACHE_HOME", "/x/cache", 1);
	setenv("HOME", "/home/u", 1);
	d = pb_cache_default_dir(err);
	is_str(d, "/x/cache/promptbandit", "default folder: $XDG_CACHE_HOME first");
	free(d);
	setenv("XDG_CACHE_HOME", "relative", 1);
	d = pb_cache_default_dir(err);
	is_str(d, "/home/u/.cache/promptbandit", "a relative $XDG_CACHE_HOME is ignored");
	free(d);
	unsetenv("XDG_CACHE_HOME");
	d = pb_cache_default_dir(err);
	is_str(d, "/home/u/.cache/promptbandit", "else $HOME/.cache");
	free(d);
	unsetenv("HOME");
	err[0] = '\0';
	d = pb_cache_default_dir(err);
	ok(!d && strstr(err, "HOME"), "neither set: NULL and a message (%s)", err);
	free(d);

	if (old_xdg)
		setenv("XDG_CACHE_HOME", old_xdg, 1);
	if (old_home)
		setenv("HOME", old_home, 1);
	free(old_xdg);
	free(old_home);
}

static void
test_open(void)
{
	char err[PB_ERRLEN], path[256];
	struct pb_cache *c;

	snprintf(path, sizeof path, "%s/afile", tmpdir);
	writefile(path, "x", 1);
	c = pb_cache_open(path, err);
	ok(!c && strstr(err, "not a folder"), "a file is not a cache folder (%s)", err);
	snprintf(path, sizeof path, "%s/afile/sub", tmpdir);
	c = pb_cache_open(path, err);
	ok(!c && strstr(err, "cannot make folder"), "nor a path through one (%s)", err);
	c = pb_cache_open("", err);
	ok(!c, "an empty name is refused");
	snprintf(path, sizeof path, "%s/slash//", tmpdir);
	c = pb_cache_open(path, err);
	snprintf(path, sizeof path, "%s/slash", tmpdir);
	is_str(c ? pb_cache_dir(c) : NULL, path, "trailing slashes are dropped");
	pb_cache_close(c);
	pb_cache_close(NULL);
}

/* ---- entries ---------------------------------------------------------- */

static void
test_roundtrip(void)
{
	char err[PB_ERRLEN], path[256], key[65], other[65], *v = (char *)"x", *text;
	struct pb_cache *c;
	cJSON *body = parse("{\"model\":\"m\",\"messages\":[]}"), *e;
	int rv;

	snprintf(path, sizeof path, "%s/rt", tmpdir);
	c = pb_cache_open(path, err);
	ok(c != NULL, "open a new cache folder");
	if (!c) {
		printf("# %s\n", err);
		cJSON_Delete(body);
		return;
	}
	pb_cache_key("u", "openai", body, 0, NULL, key);
	pb_cache_key("u", "openai", body, 1, NULL, other);
	rv = pb_cache_get(c, key, &v, err);
	ok(rv == 0 && v == NULL, "an empty cache misses");
	rv = pb_cache_put(c, key, "{ \"text\": \"63\",\n \"usage\": {\"total_tokens\": 7} }",
	                  err);
	ok(rv == 0, "put (%s)", rv ? err : "ok");
	rv = pb_cache_get(c, key, &v, err);
	ok(rv == 1, "get after put hits");
	is_str(v, "{\"text\":\"63\",\"usage\":{\"total_tokens\":7}}",
	       "the value comes back, as compact JSON");
	free(v);
	rv = pb_cache_get(c, other, &v, err);
	ok(rv == 0 && !v, "another key still misses");
	rv = pb_cache_put(c, key, "[1,2]", err);
	rv += pb_cache_get(c, key, &v, err);
	ok(rv == 1, "a second put replaces the value");
	is_str(v, "[1,2]", "the new value comes back");
	free(v);

	snprintf(path, sizeof path, "%s/rt/%.2s/%s.json", tmpdir, key, key);
	text = readfile(path);
	e = cJSON_Parse(text);
	is_str(pb_json_str(e, "format"), "pb-cache-1", "the entry is JSON with the format tag");
	is_str(pb_json_str(e, "key"), key, "and its key");
	ok(cJSON_IsNumber(cJSON_GetObjectItem(e, "created")) &&
	   cJSON_GetObjectItem(e, "created")->valuedouble > 1.6e9, "and when it was made");
	ok(cJSON_IsArray(cJSON_GetObjectItem(e, "response")),
	   "and the response as JSON, not a string");
	ok(text[0] && text[strlen(text) - 1] == '\n', "one line, ending in a newline");
	cJSON_Delete(e);
	free(text);
	snprintf(path, sizeof path, "%s/rt/%.2s", tmpdir, key);
	ok(count_files(path) == 1, "no temp file is left behind");

	/* Numbers cJSON does not print back as read must not break the
	 * checksum: 1e400 comes back as null, big integers in floating form. */
	rv = pb_cache_put(c, key, "{\"a\":-0.0,\"b\":1e400,\"c\":0.1,\"d\":1e-300,"
	                  "\"e\":123456789012345678,\"f\":-2147483649,\"g\":\"\\u00e9\\t\"}", err);
	rv += pb_cache_get(c, key, &v, err);
	ok(rv == 1, "awkward numbers and escapes round-trip");
	is_str(v, "{\"a\":-0,\"b\":null,\"c\":0.1,\"d\":1e-300,\"e\":1.2345678901234568e+17,"
	       "\"f\":-2147483649,\"g\":\"\xc3\xa9\\t\"}", "as cJSON prints them");
	free(v);
	rv = pb_cache_put(c, key, "[1,2]", err);

	ok(pb_cache_put(c, key, "{\"text\":", err) < 0 && strstr(err, "not JSON"),
	   "a value that is not JSON is refused (%s)", err);
	ok(pb_cache_put(c, key, NULL, err) < 0, "so is no value");
	ok(pb_cache_get(c, key, &v, err) == 1 && !strcmp(v, "[1,2]"),
	   "and the entry is untouched");
	free(v);
	v = (char *)"x";
	ok(pb_cache_get(c, "../../etc/passwd", &v, err) < 0 && !v &&
	   strstr(err, "bad cache key"), "get refuses a key that is not hex (%s)", err);
	ok(pb_cache_put(c, "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789",
	                "1", err) < 0, "put refuses upper-case hex");
	ok(pb_cache_put(c, "abc", "1", err) < 0, "and a short key");
	pb_cache_close(c);
	cJSON_Delete(body);
}

static void
test_modes(mode_t um)
{
	char err[PB_ERRLEN], path[256], key[65], *v = NULL;
	struct pb_cache *c;
	mode_t old = umask(um);

	pb_sha256_hex("modes", 5, key);
	snprintf(path, sizeof path, "%s/um%03o/a/b", tmpdir, (unsigned)um);
	c = pb_cache_open(path, err);
	ok(c && pb_cache_put(c, key, "{}", err) == 0 && pb_cache_get(c, key, &v, err) == 1,
	   "umask %03o: open, put, get", (unsigned)um);
	free(v);
	umask(old);
	snprintf(path, sizeof path, "%s/um%03o", tmpdir, (unsigned)um);
	ok(mode_of(path) == 0700, "umask %03o: a parent made is 0700 (%o)", (unsigned)um,
	   mode_of(path));
	snprintf(path, sizeof path, "%s/um%03o/a/b", tmpdir, (unsigned)um);
	ok(mode_of(path) == 0700, "umask %03o: the cache folder is 0700 (%o)",
	   (unsigned)um, mode_of(path));
	snprintf(path, sizeof path, "%s/um%03o/a/b/%.2s", tmpdir, (unsigned)um, key);
	ok(mode_of(path) == 0700, "umask %03o: the shard folder is 0700 (%o)",
	   (unsigned)um, mode_of(path));
	snprintf(path, sizeof path, "%s/um%03o/a/b/%.2s/%s.json", tmpdir, (unsigned)um,
	         key, key);
	ok(mode_of(path) == 0600, "umask %03o: the entry is 0600 (%o)", (unsigned)um,
	   mode_of(path));
	pb_cache_close(c);
}

/* Each damaged entry must read as a miss, and a put must mend it. */
static void
test_corrupt(void)
{
	char err[PB_ERRLEN], path[256], opath[256], key[65], okey[65], *v, *good, *t;
	struct pb_cache *c;
	struct { const char *what; char *text; size_t len; } bad[9];
	size_t i, nbad = 0, glen;

	snprintf(path, sizeof path, "%s/bad", tmpdir);
	if (!(c = pb_cache_open(path, err))) {
		ok(0, "open: %s", err);
		return;
	}
	pb_sha256_hex("k1", 2, key);
	pb_sha256_hex("k2", 2, okey);
	snprintf(path, sizeof path, "%s/bad/%.2s/%s.json", tmpdir, key, key);
	snprintf(opath, sizeof opath, "%s/bad/%.2s/%s.json", tmpdir, okey, okey);
	pb_cache_put(c, key, "{\"text\":\"the answer is 42, and that is that\"}", err);
	pb_cache_put(c, okey, "{\"text\":\"the answer is 42, and that is that\"}", err);
	good = readfile(path);
	glen = strlen(good);

#define BAD(w, s, n) do { bad[nbad].what = (w); bad[nbad].text = (s); \
	bad[nbad].len = (n); nbad++; } while (0)
	BAD("an empty file", strdup(""), 0);
	BAD("a truncated file", strdup(good), glen / 2);
	BAD("a file cut just before its last brace", strdup(good), glen - 2);
	BAD("garbage", strdup("\x01\xff garbage {{{"), 14);
	t = readfile(opath);
	BAD("another key's entry", t, strlen(t));
	t = strdup(good);
	memcpy(strstr(t, "pb-cache-1"), "pb-cache-9", 10);
	BAD("a wrong format tag", t, glen);
	t = strdup(good);
	memcpy(strstr(t, "is 42") + 3, "43", 2);
	BAD("a response that disagrees with its checksum", t, glen);
	BAD("valid JSON that is not an object", strdup("[1,2,3]"), 7);
	t = malloc(200);
	snprintf(t, 200, "{\"format\":\"pb-cache-1\",\"key\":\"%s\",\"response\":1}", key);
	BAD("an entry without its checksum", t, strlen(t));

	for (i = 0; i < nbad; i++) {
		writefile(path, bad[i].text, bad[i].len);
		v = (char *)"x";
		ok(pb_cache_get(c, key, &v, err) == 0 && v == NULL, "%s is a miss", bad[i].what);
		ok(pb_cache_put(c, key, "{\"text\":\"mended\"}", err) == 0 &&
		   pb_cache_get(c, key, &v, err) == 1 && !strcmp(v, "{\"text\":\"mended\"}"),
		   "and a put replaces %s", bad[i].what);
		free(v);
		free(bad[i].text);
	}
	/* The other key's entry was intact all along. */
	ok(pb_cache_get(c, okey, &v, err) == 1, "an intact entry still hits");
	free(v);
	free(good);
	pb_cache_close(c);
}

/* ---- concurrent writers ----------------------------------------------- */

#define NCHILD 4
#define NKEYS 50
#define NROUNDS 20
#define PAD 1000

static void
value_for(char *buf, size_t n, const char *key, int child, int round)
{
	int len = snprintf(buf, n, "{\"key\":\"%s\",\"child\":%d,\"round\":%d,\"pad\":\"",
	                   key, child, round);
	memset(buf + len, 'a' + child, PAD);
	snprintf(buf + len + PAD, n - (size_t)len - PAD, "\"}");
}

/* A value read back must be one of the values written for this key,
 * whole. */
static int
valid_value(const char *v, const char *key)
{
	cJSON *o = cJSON_Parse(v);
	const char *k = pb_json_str(o, "key"), *pad = pb_json_str(o, "pad");
	double child = -1, round = -1;
	int good = o && k && !strcmp(k, key) && pad && strlen(pad) == PAD &&
	           !pb_json_num(o, "child", &child) && !pb_json_num(o, "round", &round) &&
	           child >= 0 && child < NCHILD && round >= 0 && round < NROUNDS &&
	           pad[0] == 'a' + (int)child && pad[PAD - 1] == 'a' + (int)child;

	cJSON_Delete(o);
	return good;
}

static void
test_concurrent(void)
{
	char err[PB_ERRLEN], path[256], keys[NKEYS][65], buf[PAD + 200], *v;
	struct pb_cache *c;
	pid_t pids[NCHILD];
	long hits = 0, misses = 0, corrupt = 0, errors = 0, lost = 0;
	int seen[NKEYS] = { 0 };
	int i, k, r, st, running, childbad = 0;

	snprintf(path, sizeof path, "%s/conc", tmpdir);
	if (!(c = pb_cache_open(path, err))) {
		ok(0, "open: %s", err);
		return;
	}
	for (k = 0; k < NKEYS; k++) {
		snprintf(buf, sizeof buf, "key %d", k);
		pb_sha256_hex(buf, strlen(buf), keys[k]);
	}
	fflush(stdout);
	for (i = 0; i < NCHILD; i++) {
		if ((pids[i] = fork()) < 0) {
			ok(0, "fork: %s", strerror(errno));
			return;
		}
		if (pids[i] == 0) {
			int fails = 0;
			for (r = 0; r < NROUNDS; r++)
				for (k = 0; k < NKEYS; k++) {
					value_for(buf, sizeof buf, keys[k], i, r);
					fails += pb_cache_put(c, keys[k], buf, err) < 0;
				}
			_exit(fails ? 1 : 0);
		}
	}
	for (running = NCHILD; running > 0; ) {
		for (k = 0; k < NKEYS; k++) {
			r = pb_cache_get(c, keys[k], &v, err);
			if (r < 0)
				errors++;
			else if (r == 0)
				misses++, lost += seen[k];
			else if (valid_value(v, keys[k]))
				hits++, seen[k] = 1;
			else
				corrupt++;
			free(v);
		}
		while (running > 0 && (r = waitpid(-1, &st, WNOHANG)) > 0) {
			running--;
			childbad += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
		}
		/* Leave the writers the CPU now and then: reading flat out
		 * only slows them down on a small machine. */
		usleep(200);
	}
	ok(childbad == 0, "%d writers put %d keys %d times each, all without error",
	   NCHILD, NKEYS, NROUNDS);
	ok(corrupt == 0 && errors == 0,
	   "concurrent reads: %ld hits, %ld misses, %ld corrupt, %ld errors",
	   hits, misses, corrupt, errors);
	/* Validation alone would turn a torn write into a miss; that a key,
	 * once there, never goes missing shows the writes are atomic. */
	ok(lost == 0, "once a key hits it never misses again (%ld did)", lost);
	for (corrupt = 0, k = 0; k < NKEYS; k++) {
		corrupt += pb_cache_get(c, keys[k], &v, err) != 1 || !valid_value(v, keys[k]);
		free(v);
	}
	ok(corrupt == 0, "afterwards every key holds a whole value (%ld not)", corrupt);
	/* Only the entries are left: each shard holds as many files as keys
	 * went into it, so no temp file (".KEY.XXXXXX") was left over. */
	for (st = 0, k = 0; k < NKEYS; k++) {
		int same = 0;
		for (i = 0; i < NKEYS; i++)
			same += !strncmp(keys[i], keys[k], 2);
		snprintf(path, sizeof path, "%s/conc/%.2s", tmpdir, keys[k]);
		st += count_files(path) != same;
	}
	ok(st == 0, "no temp files are left behind (%d shards hold others)", st);
	pb_cache_close(c);
}

int
main(void)
{
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 2;
	}
	test_sha256();
	test_canonical();
	test_keys();
	test_default_dir();
	test_open();
	test_roundtrip();
	test_modes(0);
	test_modes(077);
	test_modes(0277); /* without fchmod and chmod, 0400 and 0500 */
	test_corrupt();
	test_concurrent();
	rmtree(tmpdir);
	return tap_done();
}
