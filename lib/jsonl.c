/* jsonl.c - the one record loop every tool uses, and JSON field helpers. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"

static int
key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first key found twice in an object anywhere in v, or NULL; "" for
 * out of memory.  Readers disagree on which of two keys wins (cJSON and
 * so every tool here takes the first, jq the last), so a record with one
 * is refused rather than read one way here and another there.  Depth is
 * bounded by cJSON's nesting limit; an object's keys are compared in
 * pairs when few, else sorted, so this stays n log n. */
static const char *
dup_key(const cJSON *v)
{
	const char *small[16], **keys = small, *d = NULL;
	const cJSON *c;
	size_t n = 0, i, j;

	for (c = v->child; c; c = c->next) {
		if ((cJSON_IsObject(c) || cJSON_IsArray(c)) && (d = dup_key(c)))
			return d;
		n++;
	}
	if (!cJSON_IsObject(v) || n < 2)
		return NULL;
	if (n > sizeof small / sizeof *small && !(keys = malloc(n * sizeof *keys)))
		return "";
	for (c = v->child, i = 0; c; c = c->next)
		keys[i++] = c->string ? c->string : "";
	if (n <= 8) {
		for (i = 0; i < n && !d; i++)
			for (j = i + 1; j < n && !d; j++)
				if (!strcmp(keys[i], keys[j]))
					d = keys[i];
	} else {
		qsort(keys, n, sizeof *keys, key_cmp);
		for (i = 1; i < n && !d; i++)
			if (!strcmp(keys[i - 1], keys[i]))
				d = keys[i];
	}
	if (keys != small)
		free(keys);
	return d;
}

/* Does the JSON text [s, s+n), known to be valid, escape a NUL (\u0000)?
 * cJSON would end the string there, cutting a task's input short without
 * a word.  In valid JSON every backslash starts an escape of two or six
 * characters, so a walk from backslash to backslash reads them right. */
static int
escaped_nul(const char *s, size_t n)
{
	const char *e = s + n, *q = s;

	while (q < e && (q = memchr(q, '\\', (size_t)(e - q)))) {
		if (e - q >= 6 && !memcmp(q + 1, "u0000", 5))
			return 1;
		q += 2;
	}
	return 0;
}

static int
each(FILE *fp, const char *name, pb_record_fn fn, void *arg,
     long *nlines, char err[PB_ERRLEN])
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	struct pb_where at = { name, 0, NULL, 0 };
	char why[PB_ERRLEN];
	const char *dup;
	int rv = 0;

	while ((len = getline(&line, &cap, fp)) != -1) {
		const char *end = NULL, *p;
		cJSON *rec;

		at.line++;
		for (p = line; *p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'; p++)
			;
		if ((ssize_t)(p - line) == len)
			continue; /* blank line */
		if ((ssize_t)strlen(line) != len) {
			rv = fn(NULL, &at, "line contains a NUL byte", arg);
			if (rv)
				break;
			continue;
		}
		at.text = p;
		at.len = (size_t)len - (size_t)(p - line);
		while (at.len > 0 && strchr(" \t\r\n", at.text[at.len - 1]))
			at.len--;
		rec = cJSON_ParseWithLengthOpts(line, (size_t)len, &end, 0);
		if (!rec) {
			rv = fn(NULL, &at, "not valid JSON", arg);
		} else {
			for (; end < line + len && (*end == ' ' || *end == '\t' ||
			     *end == '\r' || *end == '\n'); end++)
				;
			if (end != line + len) {
				cJSON_Delete(rec);
				rv = fn(NULL, &at, "trailing text after the JSON value", arg);
			} else if (!cJSON_IsObject(rec)) {
				cJSON_Delete(rec);
				rv = fn(NULL, &at, "not a JSON object", arg);
			} else if (escaped_nul(at.text, at.len)) {
				cJSON_Delete(rec);
				rv = fn(NULL, &at, "a string holds an escaped NUL "
				        "(\\u0000), which no tool can pass on", arg);
			} else if ((dup = dup_key(rec))) {
				if (*dup)
					snprintf(why, sizeof why, "duplicate key \"%.80s\"", dup);
				else
					snprintf(why, sizeof why, "out of memory");
				cJSON_Delete(rec);
				rv = fn(NULL, &at, why, arg);
			} else {
				rv = fn(rec, &at, NULL, arg);
			}
		}
		if (rv)
			break;
	}
	if (!rv && ferror(fp)) {
		snprintf(err, PB_ERRLEN, "%s: read error: %s", name, strerror(errno));
		rv = -1;
	}
	free(line);
	if (nlines)
		*nlines = at.line;
	return rv;
}

int
pb_jsonl_each(FILE *fp, const char *name, pb_record_fn fn, void *arg,
              long *nlines, char err[PB_ERRLEN])
{
	return each(fp, name, fn, arg, nlines, err);
}

/* The file loop of both: with fail NULL, the first file that cannot be
 * opened or read ends it (err names it); with fail, it is handed over
 * and the next file read. */
static int
files(int n, char *const *names, pb_record_fn fn, void *arg,
      pb_jsonl_fail_fn *fail, char err[PB_ERRLEN])
{
	int i, rv = 0;

	for (i = 0; i < (n ? n : 1) && rv >= 0 && (rv == 0 || fail); i++) {
		const char *name = n ? names[i] : "-";
		int std = !strcmp(name, "-");
		FILE *fp = std ? stdin : fopen(name, "r");

		if (!fp)
			snprintf(err, PB_ERRLEN, "%s: %s", name, strerror(errno));
		else
			rv = each(fp, std ? "<stdin>" : name, fn, arg, NULL, err);
		if (fp && !std)
			fclose(fp);
		if (!fp)
			rv = -1;
		if (rv > 0)
			break; /* fn stopped the loop */
		if (rv < 0 && fail) {
			fail(err, arg);
			rv = 0;
		}
	}
	return rv;
}

int
pb_jsonl_files(int n, char *const *names, pb_record_fn fn, void *arg,
               char err[PB_ERRLEN])
{
	return files(n, names, fn, arg, NULL, err);
}

int
pb_jsonl_files_all(int n, char *const *names, pb_record_fn fn, void *arg,
                   pb_jsonl_fail_fn *fail)
{
	char err[PB_ERRLEN];

	return files(n, names, fn, arg, fail, err);
}

int
pb_jsonl_write(FILE *fp, const cJSON *rec)
{
	char *s = cJSON_PrintUnformatted(rec);
	int rv = 0;

	if (!s) {
		errno = ENOMEM;
		return -1;
	}
	if (fputs(s, fp) == EOF || putc('\n', fp) == EOF)
		rv = -1;
	cJSON_free(s);
	return rv;
}

/* obj's member named by the n bytes at key (not NUL-terminated), as
 * cJSON_GetObjectItemCaseSensitive finds one: the first of that name. */
static cJSON *
member(const cJSON *obj, const char *key, size_t n)
{
	cJSON *c;

	if (!cJSON_IsObject(obj))
		return NULL;
	for (c = obj->child; c; c = c->next)
		if (c->string && !strncmp(c->string, key, n) && !c->string[n])
			return c;
	return NULL;
}

cJSON *
pb_json_path(const cJSON *obj, const char *path)
{
	const char *dot;

	while (obj && (dot = strchr(path, '.'))) {
		obj = member(obj, path, (size_t)(dot - path));
		path = dot + 1;
	}
	return obj ? member(obj, path, strlen(path)) : NULL;
}

const char *
pb_json_str(const cJSON *obj, const char *path)
{
	cJSON *v = pb_json_path(obj, path);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

int
pb_json_num(const cJSON *obj, const char *path, double *out)
{
	cJSON *v = pb_json_path(obj, path);

	if (!cJSON_IsNumber(v))
		return -1;
	*out = v->valuedouble;
	return 0;
}

void
pb_json_set(cJSON *obj, const char *key, cJSON *item)
{
	if (cJSON_GetObjectItemCaseSensitive(obj, key))
		cJSON_ReplaceItemInObjectCaseSensitive(obj, key, item);
	else
		cJSON_AddItemToObject(obj, key, item);
}

char *
pb_json_text(const cJSON *v)
{
	char buf[64];

	if (cJSON_IsString(v))
		return strdup(v->valuestring);
	if (cJSON_IsNumber(v)) {
		pb_fmt_num(buf, sizeof buf, v->valuedouble);
		return strdup(buf);
	}
	if (cJSON_IsNull(v) || !v)
		return strdup("");
	return cJSON_PrintUnformatted(v);
}

void
pb_fmt_num(char *buf, size_t n, double v)
{
	if (v == floor(v) && fabs(v) < 1e15)
		snprintf(buf, n, "%.0f", v);
	else {
		snprintf(buf, n, "%.15g", v);
		if (strtod(buf, NULL) != v)
			snprintf(buf, n, "%.17g", v);
	}
}

int
pb_utf8_valid(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned long c;
	int n, i;

	while (*s) {
		if (*s < 0x80) {
			s++;
			continue;
		}
		if (*s >= 0xc2 && *s <= 0xdf)
			n = 1, c = *s & 0x1f;
		else if (*s >= 0xe0 && *s <= 0xef)
			n = 2, c = *s & 0x0f;
		else if (*s >= 0xf0 && *s <= 0xf4)
			n = 3, c = *s & 0x07;
		else
			return 0;
		for (i = 1; i <= n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return 0;
			c = c << 6 | (s[i] & 0x3f);
		}
		if ((n == 2 && c < 0x800) || (n == 3 && (c < 0x10000 || c > 0x10ffff)) ||
		    (c >= 0xd800 && c <= 0xdfff))
			return 0;
		s += n + 1;
	}
	return 1;
}
