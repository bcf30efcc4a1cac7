/* cache.c - the on-disk response cache: request keys, and one JSON file
 * per response, written whole through a temp file and a rename. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "llm.h"
#include "internal.h"

/* An entry bigger than this is not one we wrote (responses are a few
 * kilobytes); refusing it keeps a stray file from eating the memory. */
#define MAX_ENTRY (64L << 20)

struct pb_cache {
	char *dir;
};

/* ---- keys ------------------------------------------------------------- */

/* The canonical text streamed into a hash (NULL: only counted), so a body
 * is hashed without being held in memory. */
struct sink {
	struct pb_sha256 *h;
	uint64_t count;
};

static void
sink_put(const void *p, size_t n, void *arg)
{
	struct sink *s = arg;

	s->count += n;
	if (s->h)
		pb_sha256_update(s->h, p, n);
}

static void
length_prefix(struct pb_sha256 *h, uint64_t n)
{
	unsigned char b[8];
	int i;

	for (i = 0; i < 8; i++)
		b[i] = (unsigned char)(n >> (56 - 8 * i));
	pb_sha256_update(h, b, 8);
}

static void
field(struct pb_sha256 *h, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	length_prefix(h, n);
	pb_sha256_update(h, s ? s : "", n);
}

void
pb_cache_key(const char *endpoint, const char *api, const cJSON *body,
             long sample, const char *run, char key[65])
{
	struct pb_sha256 h;
	struct sink count = { NULL, 0 }, hash = { &h, 0 };
	char num[32];

	pb_sha256_init(&h);
	field(&h, PB_CACHE_FORMAT);
	field(&h, endpoint);
	field(&h, api);
	/* The body is streamed twice, once to learn its length for the
	 * prefix and once into the hash, rather than held in memory. */
	pb_json_canonical_emit(body, sink_put, &count);
	length_prefix(&h, count.count);
	pb_json_canonical_emit(body, sink_put, &hash);
	snprintf(num, sizeof num, "%ld", sample);
	field(&h, num);
	if (run)
		field(&h, run);
	pb_sha256_final_hex(&h, key);
}

/* ---- the folder ------------------------------------------------------- */

char *
pb_cache_default_dir(char err[PB_ERRLEN])
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	const char *base, *tail;
	char *path;
	size_t n;

	/* The XDG base directory spec says to ignore a relative value. */
	if (xdg && xdg[0] == '/') {
		base = xdg;
		tail = "/promptbandit";
	} else if (home && *home) {
		base = home;
		tail = "/.cache/promptbandit";
	} else {
		snprintf(err, PB_ERRLEN, "no cache folder: neither $XDG_CACHE_HOME "
		         "(absolute) nor $HOME is set");
		return NULL;
	}
	n = strlen(base) + strlen(tail) + 1;
	if (!(path = malloc(n))) {
		snprintf(err, PB_ERRLEN, "out of memory");
		return NULL;
	}
	snprintf(path, n, "%s%s", base, tail);
	return path;
}

/* Makes folder path with mode 0700 unless it exists.  chmod after mkdir
 * because the umask may have taken bits off; an existing folder (even
 * one another process made a moment ago) is left as it is. */
static int
make_dir(const char *path)
{
	if (mkdir(path, 0700) == 0)
		return chmod(path, 0700);
	return errno == EEXIST ? 0 : -1;
}

struct pb_cache *
pb_cache_open(const char *dir, char err[PB_ERRLEN])
{
	struct pb_cache *c;
	struct stat st;
	char *path, *p;
	size_t n;

	if (!dir || !*dir) {
		snprintf(err, PB_ERRLEN, "empty cache folder name");
		return NULL;
	}
	/* Room for "/ab/" KEY ".json" and a temp name after it. */
	if (strlen(dir) + 80 >= PATH_MAX) {
		snprintf(err, PB_ERRLEN, "%.100s...: cache folder name too long", dir);
		return NULL;
	}
	if (!(c = malloc(sizeof *c)) || !(path = strdup(dir))) {
		free(c);
		snprintf(err, PB_ERRLEN, "out of memory");
		return NULL;
	}
	for (n = strlen(path); n > 1 && path[n - 1] == '/'; )
		path[--n] = '\0';
	/* Like mkdir -p: each missing parent too, all 0700. */
	for (p = path + 1; ; p++) {
		if (*p != '/' && *p)
			continue;
		if (p[-1] != '/') {
			char save = *p;
			*p = '\0';
			if (make_dir(path) < 0) {
				snprintf(err, PB_ERRLEN, "%s: cannot make folder: %s", path,
				         strerror(errno));
				goto fail;
			}
			*p = save;
		}
		if (!*p)
			break;
	}
	if (stat(path, &st) < 0) {
		snprintf(err, PB_ERRLEN, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, PB_ERRLEN, "%s: not a folder", path);
		goto fail;
	}
	c->dir = path;
	return c;
fail:
	free(path);
	free(c);
	return NULL;
}

void
pb_cache_close(struct pb_cache *c)
{
	if (!c)
		return;
	free(c->dir);
	free(c);
}

const char *
pb_cache_dir(const struct pb_cache *c)
{
	return c->dir;
}

int
pb_cache_choose(const char *dir, struct pb_cache **c, char msg[PB_ERRLEN])
{
	char err[PB_ERRLEN], *dflt = NULL;

	*c = NULL;
	msg[0] = '\0';
	if (!dir && !(dflt = pb_cache_default_dir(err)))
		snprintf(msg, PB_ERRLEN, "cache: %s (going on without it)", err);
	else if (!(*c = pb_cache_open(dir ? dir : dflt, err))) {
		if (dir) {
			snprintf(msg, PB_ERRLEN, "%s", err);
			return -1;
		}
		snprintf(msg, PB_ERRLEN, "cache: %s (going on without it)", err);
	}
	free(dflt);
	return 0;
}

/* ---- entries ---------------------------------------------------------- */

static int
key_ok(const char *key, char err[PB_ERRLEN])
{
	size_t i;

	for (i = 0; key && i < 64; i++)
		if (!((key[i] >= '0' && key[i] <= '9') || (key[i] >= 'a' && key[i] <= 'f')))
			break;
	if (key && i == 64 && !key[64])
		return 1;
	snprintf(err, PB_ERRLEN, "bad cache key \"%.70s\" (want 64 lowercase hex "
	         "digits)", key ? key : "(null)");
	return 0;
}

/* The checksum stored with a value: hash of its canonical text. */
static void
value_sum(const cJSON *v, char sum[65])
{
	struct pb_sha256 h;
	struct sink s = { &h, 0 };

	pb_sha256_init(&h);
	pb_json_canonical_emit(v, sink_put, &s);
	pb_sha256_final_hex(&h, sum);
}

/* Reads all of fd (at most MAX_ENTRY bytes) into a NUL-terminated
 * buffer.  Returns 0, 1 if the file is too big, -1 on error (errno). */
static int
read_all(int fd, char **out, size_t *len)
{
	size_t n = 0, cap = 4096;
	char *buf = malloc(cap), *nb;
	ssize_t r;

	if (!buf)
		return -1;
	for (;;) {
		if (n + 1 >= cap) {
			if (cap >= (size_t)MAX_ENTRY) {
				free(buf);
				return 1;
			}
			if (!(nb = realloc(buf, cap * 2))) {
				free(buf);
				return -1;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

int
pb_cache_get(struct pb_cache *c, const char *key, char **value,
             char err[PB_ERRLEN])
{
	char path[PATH_MAX], sum[65], *text = NULL;
	const char *format, *inkey, *insum;
	cJSON *e = NULL, *resp;
	struct stat st;
	size_t len;
	int fd, r, rv = 0;

	*value = NULL;
	if (!key_ok(key, err))
		return -1;
	snprintf(path, sizeof path, "%s/%.2s/%s.json", c->dir, key, key);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, PB_ERRLEN, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(err, PB_ERRLEN, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) { /* not ours: a miss, and put will say why */
		close(fd);
		return 0;
	}
	r = read_all(fd, &text, &len);
	close(fd);
	if (r < 0) {
		snprintf(err, PB_ERRLEN, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (r > 0)
		return 0;
	/* Believe the entry only if all of it is there and it is for this
	 * key: a torn or stray file must never pass for an answer. */
	if (!(e = cJSON_ParseWithLength(text, len)) || !cJSON_IsObject(e))
		goto out;
	format = pb_json_str(e, "format");
	inkey = pb_json_str(e, "key");
	insum = pb_json_str(e, "sha256");
	resp = cJSON_GetObjectItemCaseSensitive(e, "response");
	if (!format || strcmp(format, PB_CACHE_FORMAT) || !inkey ||
	    strcmp(inkey, key) || !insum || !resp)
		goto out;
	value_sum(resp, sum);
	if (strcmp(sum, insum))
		goto out;
	if (!(*value = cJSON_PrintUnformatted(resp))) {
		snprintf(err, PB_ERRLEN, "out of memory");
		rv = -1;
		goto out;
	}
	rv = 1;
out:
	cJSON_Delete(e);
	free(text);
	return rv;
}

/* Writes all of text to fd. */
static int
write_all(int fd, const char *text, size_t len)
{
	size_t off = 0;
	ssize_t w;

	while (off < len) {
		w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

/* No fsync, by choice.  The state file is synced because losing it loses
 * work; a cache entry lost in a crash costs one request again, while an
 * fsync per entry (milliseconds each, in pb-query's one event loop,
 * holding up every transfer in flight) would cost thousands of runs a
 * great deal to guard against that.  What a crash must never do is leave
 * an entry that reads back wrong, and that get guards against on its
 * own: an entry renamed into place before its data reached the disk can
 * come back empty, short or full of other bytes, and then fails to parse
 * or to match its key and checksum, and is a miss. */
int
pb_cache_put(struct pb_cache *c, const char *key, const char *value,
             char err[PB_ERRLEN])
{
	char path[PATH_MAX], tmp[PATH_MAX], sum[65], *text = NULL;
	cJSON *v, *e;
	size_t len;
	int fd = -1;

	if (!key_ok(key, err))
		return -1;
	if (!value || !(v = cJSON_Parse(value))) {
		snprintf(err, PB_ERRLEN, "cache value for %.12s... is not JSON", key);
		return -1;
	}
	value_sum(v, sum);
	if (!(e = cJSON_CreateObject()) ||
	    !cJSON_AddStringToObject(e, "format", PB_CACHE_FORMAT) ||
	    !cJSON_AddStringToObject(e, "key", key) ||
	    !cJSON_AddNumberToObject(e, "created", (double)time(NULL)) ||
	    !cJSON_AddStringToObject(e, "sha256", sum) ||
	    !cJSON_AddItemToObject(e, "response", v)) {
		if (!e || !cJSON_GetObjectItemCaseSensitive(e, "response"))
			cJSON_Delete(v);
		cJSON_Delete(e);
		snprintf(err, PB_ERRLEN, "out of memory");
		return -1;
	}
	text = cJSON_PrintUnformatted(e);
	cJSON_Delete(e);
	if (!text) {
		snprintf(err, PB_ERRLEN, "out of memory");
		return -1;
	}
	if ((len = strlen(text)) >= (size_t)MAX_ENTRY) { /* get would not believe it */
		snprintf(err, PB_ERRLEN, "cache value for %.12s... too big (%zu bytes)",
		         key, len);
		goto fail;
	}
	snprintf(path, sizeof path, "%s/%.2s", c->dir, key);
	if (make_dir(path) < 0) {
		snprintf(err, PB_ERRLEN, "%s: cannot make folder: %s", path,
		         strerror(errno));
		goto fail;
	}
	/* The temp file sits beside the entry, so the rename cannot cross
	 * file systems; its leading dot keeps it out of the entries. */
	snprintf(tmp, sizeof tmp, "%s/%.2s/.%s.XXXXXX", c->dir, key, key);
	snprintf(path, sizeof path, "%s/%.2s/%s.json", c->dir, key, key);
	if ((fd = mkstemp(tmp)) < 0) {
		snprintf(err, PB_ERRLEN, "%s: cannot make temp file: %s", tmp,
		         strerror(errno));
		goto fail;
	}
	if (write_all(fd, text, len) < 0 || write_all(fd, "\n", 1) < 0 ||
	    fchmod(fd, 0600) < 0) {
		snprintf(err, PB_ERRLEN, "%s: %s", tmp, strerror(errno));
		goto fail_tmp;
	}
	if (close(fd) < 0) {
		fd = -1;
		snprintf(err, PB_ERRLEN, "%s: %s", tmp, strerror(errno));
		goto fail_tmp;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		snprintf(err, PB_ERRLEN, "%s: cannot rename into place: %s", path,
		         strerror(errno));
		goto fail_tmp;
	}
	cJSON_free(text);
	return 0;
fail_tmp:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
fail:
	cJSON_free(text);
	return -1;
}
