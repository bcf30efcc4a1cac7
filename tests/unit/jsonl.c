/* jsonl.c - unit tests: the record loop (pb_jsonl_each, pb_jsonl_files,
 * pb_jsonl_files_all) through temp files, pb_jsonl_write read back, the
 * field helpers and the number format, each against what lib/base.h
 * promises; and the UTF-8 check a message or a state depends on. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../lib/pb.h"
#include "tap.h"

static char dir[] = "/tmp/pbjsonlXXXXXX";

/* What the loop handed the callback, in order: per call the file, the
 * line, the text it saw and either the record (compact JSON) or why. */
#define MAXCALLS 64
struct seen {
	int n;
	const char *file[MAXCALLS];
	long line[MAXCALLS];
	char *text[MAXCALLS]; /* at->text, at->len bytes */
	size_t len[MAXCALLS];
	char *rec[MAXCALLS];  /* NULL for a bad line */
	char *why[MAXCALLS];  /* NULL for a record */
	int stop_at;          /* return 7 from this call (1-based), 0: never */
	int fails;            /* pb_jsonl_files_all's fail calls */
	char *fail[8];
};

static int
collect(cJSON *rec, const struct pb_where *at, const char *why, void *arg)
{
	struct seen *s = arg;
	int i = s->n++;

	if (i >= MAXCALLS) {
		cJSON_Delete(rec);
		return 99;
	}
	s->file[i] = at->file;
	s->line[i] = at->line;
	s->len[i] = at->len;
	s->text[i] = NULL;
	if (at->text && (s->text[i] = malloc(at->len + 1))) {
		memcpy(s->text[i], at->text, at->len);
		s->text[i][at->len] = '\0';
	}
	s->rec[i] = rec ? cJSON_PrintUnformatted(rec) : NULL;
	s->why[i] = why ? strdup(why) : NULL;
	cJSON_Delete(rec); /* the callback owns it */
	return s->stop_at == s->n ? 7 : 0;
}

static void
failed(const char *why, void *arg)
{
	struct seen *s = arg;

	if (s->fails < 8)
		s->fail[s->fails] = strdup(why);
	s->fails++;
}

static void
forget(struct seen *s)
{
	int i;

	for (i = 0; i < s->n && i < MAXCALLS; i++) {
		free(s->text[i]);
		free(s->rec[i]);
		free(s->why[i]);
	}
	for (i = 0; i < s->fails && i < 8; i++)
		free(s->fail[i]);
	memset(s, 0, sizeof *s);
}

/* A file in the test's folder holding the n bytes at p; its path. */
static char *
put(const char *name, const void *p, size_t n)
{
	static char paths[16][256];
	static int k;
	char *path = paths[k++ % 16];
	FILE *fp;

	snprintf(path, 256, "%s/%s", dir, name);
	if (!(fp = fopen(path, "w")) || fwrite(p, 1, n, fp) != n || fclose(fp)) {
		printf("Bail out! cannot write %s\n", path);
		exit(2);
	}
	return path;
}

/* Runs pb_jsonl_each over the file at path, as named. */
static int
each(const char *path, const char *name, struct seen *s, long *nlines, char *err)
{
	FILE *fp = fopen(path, "r");
	int rv;

	if (!fp) {
		printf("Bail out! cannot read %s\n", path);
		exit(2);
	}
	rv = pb_jsonl_each(fp, name, collect, s, nlines, err);
	fclose(fp);
	return rv;
}

static int
has(const char *s, const char *part)
{
	return s && strstr(s, part) != NULL;
}

static void
test_lines(void)
{
	struct seen s = { 0 };
	char err[PB_ERRLEN] = "";
	long nl = -1;
	const char text[] =
	    "{\"a\":1}\n"
	    "\n"
	    "   \t  \n"
	    "\r\n"
	    "  {\"b\":\"two\"}  \t\r\n"
	    "{\"c\":[1,2,{\"d\":null}]}\r\n"
	    "\t\n"
	    "{\"e\":true}"; /* no newline at the end */
	char *p = put("lines.jsonl", text, sizeof text - 1);

	ok(each(p, "lines.jsonl", &s, &nl, err) == 0, "a file read to the end returns 0");
	ok(s.n == 4, "blank and whitespace-only lines are skipped: 4 calls for 8 lines (%d)", s.n);
	ok(nl == 8, "*nlines counts every line read, blank ones too (%ld)", nl);
	ok(s.n == 4 && s.line[0] == 1 && s.line[1] == 5 && s.line[2] == 6 && s.line[3] == 8,
	   "1-based line numbers count the blank lines");
	ok(s.n == 4 && !s.why[0] && !s.why[1] && !s.why[2] && !s.why[3], "every line a record");
	is_str(s.rec[1], "{\"b\":\"two\"}", "a CRLF line with blanks around it is a record");
	is_str(s.text[1], "{\"b\":\"two\"}", "at->text is the line without surrounding blanks or CR");
	ok(s.len[1] == strlen("{\"b\":\"two\"}"), "at->len is its length (%zu)", s.len[1]);
	is_str(s.rec[2], "{\"c\":[1,2,{\"d\":null}]}", "nested values come through whole");
	is_str(s.rec[3], "{\"e\":true}", "a last line without a newline is read");
	is_str(s.file[0], "lines.jsonl", "at->file is the name given");
	forget(&s);

	p = put("empty.jsonl", "", 0);
	nl = -1;
	ok(each(p, "empty.jsonl", &s, &nl, err) == 0 && s.n == 0 && nl == 0,
	   "an empty file: no calls, 0 lines, returns 0");
	forget(&s);
	p = put("blank.jsonl", "\n \n\t\r\n", 6);
	ok(each(p, "blank.jsonl", &s, &nl, err) == 0 && s.n == 0 && nl == 3,
	   "a file of blank lines: no calls, 3 lines");
	forget(&s);
	p = put("one.jsonl", "{}", 2);
	ok(each(p, "one.jsonl", &s, NULL, err) == 0 && s.n == 1, "nlines may be NULL");
	is_str(s.rec[0], "{}", "the empty object is a record");
	forget(&s);
}

static void
test_long_line(void)
{
	struct seen s = { 0 };
	char err[PB_ERRLEN] = "";
	size_t big = 1 << 20, n;
	char *buf = malloc(big + 64), *p;
	long nl = 0;
	cJSON *v;

	if (!buf) {
		printf("Bail out! out of memory\n");
		exit(2);
	}
	n = (size_t)sprintf(buf, "{\"big\":\"");
	memset(buf + n, 'x', big);
	n += big;
	n += (size_t)sprintf(buf + n, "\"}\n{\"after\":1}\n");
	p = put("long.jsonl", buf, n);
	ok(each(p, "long.jsonl", &s, &nl, err) == 0 && s.n == 2 && nl == 2,
	   "a 1 MB line and the line after it");
	v = s.n >= 1 && s.rec[0] ? cJSON_Parse(s.rec[0]) : NULL;
	ok(pb_json_str(v, "big") && strlen(pb_json_str(v, "big")) == big,
	   "the 1 MB string arrives whole");
	cJSON_Delete(v);
	ok(s.n >= 1 && s.len[0] == big + 10, "at->len is the long line's length");
	ok(s.n == 2 && s.line[1] == 2 && has(s.rec[1], "after"), "the next line is line 2");
	forget(&s);
	free(buf);
}

static void
test_bad_lines(void)
{
	struct seen s = { 0 };
	char err[PB_ERRLEN] = "";
	long nl = 0;
	const char text[] =
	    "{\"ok\":1}\n"
	    "{\"broken\":\n"
	    "[1,2,3]\n"
	    "\"a string\"\n"
	    "42\n"
	    "null\n"
	    "{\"a\":1} {\"b\":2}\n"
	    "{\"a\":1,\"a\":2}\n"
	    "{\"s\":\"x\\u0000y\"}\n"
	    "{\"ok\":2}\n";
	char *p = put("bad.jsonl", text, sizeof text - 1);
	int i, bad = 0;

	ok(each(p, "bad.jsonl", &s, &nl, err) == 0,
	   "bad lines the callback lets pass: the loop goes on and returns 0");
	ok(s.n == 10 && nl == 10, "every line reaches the callback (%d)", s.n);
	for (i = 1; i < 9 && i < s.n; i++)
		bad += !s.rec[i] && s.why[i] && s.line[i] == i + 1;
	ok(bad == 8, "lines 2-9 are bad: rec NULL, why set, their own line number (%d of 8)", bad);
	ok(s.n == 10 && has(s.rec[9], "\"ok\":2") && s.line[9] == 10,
	   "the record after them is read");
	is_str(s.why[1], "not valid JSON", "a line cut short: not valid JSON");
	is_str(s.text[1], "{\"broken\":", "... and at->text shows it");
	is_str(s.file[1], "bad.jsonl", "... in the file named");
	is_str(s.why[2], "not a JSON object", "an array is not a record");
	is_str(s.why[3], "not a JSON object", "a string is not a record");
	is_str(s.why[4], "not a JSON object", "a number is not a record");
	is_str(s.why[5], "not a JSON object", "null is not a record");
	ok(has(s.why[6], "trailing text"), "two values on a line: trailing text");
	ok(has(s.why[7], "duplicate key \"a\""), "a key given twice is named");
	ok(has(s.why[8], "NUL"), "an escaped NUL is refused: %s", s.why[8] ? s.why[8] : "(null)");
	forget(&s);

	/* A callback that stops at a bad line ends the loop there. */
	s.stop_at = 2;
	ok(each(p, "bad.jsonl", &s, &nl, err) == 7,
	   "the callback's non-zero return ends the loop and is returned");
	ok(s.n == 2 && nl == 2, "no line after it is read (%d calls, %ld lines)", s.n, nl);
	forget(&s);
}

static void
test_nul_bytes(void)
{
	struct seen s = { 0 };
	char err[PB_ERRLEN] = "";
	const char text[] = "{\"a\":\"x\0y\"}\n\0\n{\"b\":1}\n";
	char *p = put("nul.jsonl", text, sizeof text - 1);
	long nl = 0;

	ok(each(p, "nul.jsonl", &s, &nl, err) == 0 && s.n == 3 && nl == 3,
	   "lines with NUL bytes reach the callback, and the loop goes on");
	ok(s.n == 3 && !s.rec[0] && has(s.why[0], "NUL") && s.line[0] == 1,
	   "a NUL inside a record's line: bad, named (%s)", s.why[0] ? s.why[0] : "(null)");
	ok(s.n == 3 && !s.rec[1] && has(s.why[1], "NUL") && s.line[1] == 2,
	   "a line of one NUL is not blank: bad, line 2");
	ok(s.n == 3 && has(s.rec[2], "\"b\":1") && s.line[2] == 3, "the next line is read");
	forget(&s);
}

static void
test_read_error(void)
{
	struct seen s = { 0 };
	char err[PB_ERRLEN] = "";
	FILE *fp = fopen(dir, "r"); /* a folder opens, but reading fails */

	if (!fp) {
		ok(1, "# SKIP a folder does not open for reading here");
		return;
	}
	ok(pb_jsonl_each(fp, "the-folder", collect, &s, NULL, err) == -1,
	   "a read error returns -1");
	ok(has(err, "the-folder") && has(err, "read error"), "err names the file: %s", err);
	ok(s.n == 0, "and nothing reached the callback");
	fclose(fp);
	forget(&s);
}

static void
test_files(void)
{
	struct seen s = { 0 };
	char err[PB_ERRLEN] = "";
	char a[256], b[256], missing[256], *names[4];

	snprintf(a, sizeof a, "%s", put("a.jsonl", "{\"f\":\"a1\"}\n{\"f\":\"a2\"}\n", 22));
	snprintf(b, sizeof b, "%s", put("b.jsonl", "\n{\"f\":\"b1\"}\n", 12));
	snprintf(missing, sizeof missing, "%s/missing.jsonl", dir);

	names[0] = a, names[1] = b;
	ok(pb_jsonl_files(2, names, collect, &s, err) == 0 && s.n == 3,
	   "pb_jsonl_files reads the files in turn (%d records)", s.n);
	ok(s.n == 3 && has(s.rec[0], "a1") && has(s.rec[1], "a2") && has(s.rec[2], "b1"),
	   "in order");
	ok(s.n == 3 && !strcmp(s.file[0], a) && !strcmp(s.file[2], b) && s.line[2] == 2,
	   "each record with its own file and line, counted afresh per file");
	forget(&s);

	names[0] = a, names[1] = missing, names[2] = b;
	ok(pb_jsonl_files(3, names, collect, &s, err) == -1,
	   "a file that cannot be opened: -1");
	ok(has(err, missing) && has(err, strerror(ENOENT)), "err names it and why: %s", err);
	ok(s.n == 2, "the files before it were read, none after it (%d)", s.n);
	forget(&s);

	names[0] = a, names[1] = dir, names[2] = b;
	ok(pb_jsonl_files(3, names, collect, &s, err) == -1 && has(err, dir) && s.n == 2,
	   "a file that opens but cannot be read stops it too: %s", err);
	forget(&s);

	names[0] = a, names[1] = b;
	s.stop_at = 1;
	ok(pb_jsonl_files(2, names, collect, &s, err) == 7 && s.n == 1,
	   "the callback stops pb_jsonl_files, returning its value, reading no further");
	forget(&s);

	/* standard input: no names, or "-" */
	if (!freopen(b, "r", stdin)) {
		printf("Bail out! cannot reopen stdin\n");
		exit(2);
	}
	ok(pb_jsonl_files(0, NULL, collect, &s, err) == 0 && s.n == 1 &&
	   !strcmp(s.file[0], "<stdin>") && s.line[0] == 2,
	   "no files: standard input, shown as <stdin>");
	forget(&s);
	if (!freopen(b, "r", stdin)) {
		printf("Bail out! cannot reopen stdin\n");
		exit(2);
	}
	names[0] = a, names[1] = "-";
	ok(pb_jsonl_files(2, names, collect, &s, err) == 0 && s.n == 3 &&
	   !strcmp(s.file[2], "<stdin>"), "\"-\" among the files is standard input, <stdin>");
	forget(&s);

	/* pb_jsonl_files_all: the unreadable ones to fail, the rest read */
	names[0] = missing, names[1] = a, names[2] = dir, names[3] = b;
	ok(pb_jsonl_files_all(4, names, collect, &s, failed) == 0,
	   "pb_jsonl_files_all returns 0 when only files failed");
	ok(s.n == 3, "the readable files are all read (%d records)", s.n);
	ok(s.fails == 2, "fail is called once per unreadable file (%d)", s.fails);
	ok(s.fails >= 1 && !strncmp(s.fail[0], missing, strlen(missing)) &&
	   s.fail[0][strlen(missing)] == ':' && has(s.fail[0], strerror(ENOENT)),
	   "its message is \"NAME: why\": %s", s.fails >= 1 ? s.fail[0] : "");
	ok(s.fails >= 2 && !strncmp(s.fail[1], dir, strlen(dir)) && has(s.fail[1], "read error"),
	   "a folder: \"NAME: read error: ...\": %s", s.fails >= 2 ? s.fail[1] : "");
	forget(&s);

	names[0] = a, names[1] = missing, names[2] = b;
	s.stop_at = 2;
	ok(pb_jsonl_files_all(3, names, collect, &s, failed) == 7 && s.n == 2 && s.fails == 0,
	   "the callback stops pb_jsonl_files_all too, with its value");
	forget(&s);
}

static void
test_write(void)
{
	struct seen s = { 0 };
	char err[PB_ERRLEN] = "", path[256];
	const char *src = "{\"id\":\"t1\",\"input\":\"caf\xc3\xa9 \\\"q\\\"\\n\\ttab\","
	                  "\"n\":[1,-2.5,1e300,0.1],\"o\":{\"x\":null,\"y\":false},\"e\":\"\"}";
	cJSON *rec = parse(src), *back;
	FILE *fp;
	char line[512];

	snprintf(path, sizeof path, "%s/written.jsonl", dir);
	fp = fopen(path, "w");
	ok(fp && pb_jsonl_write(fp, rec) == 0 && pb_jsonl_write(fp, rec) == 0 && fclose(fp) == 0,
	   "pb_jsonl_write: two records written");
	fp = fopen(path, "r");
	ok(fp && fgets(line, sizeof line, fp) && strchr(line, '\n') == line + strlen(line) - 1,
	   "one line per record, ending in a newline");
	ok(!strchr(line, '\n') || !memchr(line, '\n', strlen(line) - 1), "no newline inside it");
	if (fp)
		fclose(fp);
	ok(each(path, "written.jsonl", &s, NULL, err) == 0 && s.n == 2 && !s.why[0],
	   "and the record loop reads them back");
	back = s.n >= 1 && s.rec[0] ? cJSON_Parse(s.rec[0]) : NULL;
	ok(back && cJSON_Compare(back, rec, 1), "the same record, value for value");
	cJSON_Delete(back);
	forget(&s);

	fp = fopen("/dev/full", "w");
	if (fp && !setvbuf(fp, NULL, _IONBF, 0)) {
		errno = 0;
		ok(pb_jsonl_write(fp, rec) == -1 && errno == ENOSPC,
		   "a failed write returns -1 with errno set (/dev/full: %s)", strerror(errno));
	} else {
		ok(1, "# SKIP no /dev/full");
	}
	if (fp)
		fclose(fp);
	cJSON_Delete(rec);
}

static void
test_fields(void)
{
	cJSON *o = parse("{\"task\":{\"answer\":\"63\",\"meta\":{\"n\":-2.5,\"s\":\"deep\"},"
	                 "\"list\":[{\"x\":1}]},\"n\":42,\"s\":\"str\",\"b\":true,\"z\":null,"
	                 "\"num_str\":\"7\",\"big\":1e308,\"a.b\":\"dotted key\"}");
	double d = 0;

	ok(pb_json_path(o, "task") == cJSON_GetObjectItemCaseSensitive(o, "task"),
	   "pb_json_path: a plain key");
	is_str(pb_json_str(o, "task.answer"), "63", "a dotted path reaches into an object");
	is_str(pb_json_str(o, "task.meta.s"), "deep", "three levels down");
	ok(pb_json_num(o, "task.meta.n", &d) == 0 && d == -2.5, "pb_json_num three levels down");
	ok(pb_json_path(o, "task.nope") == NULL, "a missing last key: NULL");
	ok(pb_json_path(o, "nope.answer") == NULL, "a missing first key: NULL");
	ok(pb_json_path(o, "s.x") == NULL, "through a string: NULL");
	ok(pb_json_path(o, "task.list.x") == NULL, "through an array: NULL");
	ok(pb_json_path(o, "task.") == NULL, "an empty last part: NULL");
	ok(pb_json_path(NULL, "task") == NULL && pb_json_str(NULL, "task") == NULL &&
	   pb_json_num(NULL, "task", &d) == -1, "no object: NULL, NULL, -1");
	ok(pb_json_path(o, "Task") == NULL, "keys are case-sensitive");
	ok(pb_json_str(o, "a.b") == NULL, "a dot always means a level: \"a.b\" is not a key");
	is_str(pb_json_str(o, "s"), "str", "pb_json_str: a string");
	ok(pb_json_str(o, "n") == NULL, "pb_json_str: a number is not a string");
	ok(pb_json_str(o, "z") == NULL && pb_json_str(o, "b") == NULL && pb_json_str(o, "task") == NULL,
	   "pb_json_str: null, a boolean, an object are not strings");
	ok(pb_json_num(o, "n", &d) == 0 && d == 42, "pb_json_num: 42");
	ok(pb_json_num(o, "big", &d) == 0 && d == 1e308, "pb_json_num: 1e308");
	ok(pb_json_num(o, "num_str", &d) == -1, "pb_json_num: a string of digits is not a number");
	ok(pb_json_num(o, "b", &d) == -1 && pb_json_num(o, "z", &d) == -1 &&
	   pb_json_num(o, "missing", &d) == -1, "pb_json_num: true, null, missing: -1");
	cJSON_Delete(o);

	{ /* a long key on the way: the promise names no limit */
		char key[300], json[400], path[320];
		cJSON *v;

		memset(key, 'k', sizeof key - 1);
		key[sizeof key - 1] = '\0';
		snprintf(json, sizeof json, "{\"%s\":{\"x\":\"found\"}}", key);
		snprintf(path, sizeof path, "%s.x", key);
		v = parse(json);
		is_str(pb_json_str(v, path), "found", "a 299-byte key on the path");
		cJSON_Delete(v);
	}

	o = parse("{\"a\":1,\"b\":2}");
	pb_json_set(o, "a", cJSON_CreateString("one"));
	pb_json_set(o, "c", cJSON_CreateNumber(3));
	ok(cJSON_GetArraySize(o) == 3 && !strcmp(pb_json_str(o, "a"), "one") &&
	   pb_json_num(o, "c", &d) == 0 && d == 3, "pb_json_set replaces a key, or adds it");
	cJSON_Delete(o);
}

/* Does pb_fmt_num(v) read back as v?  Also its text, for messages. */
static int
reads_back(double v, char *buf, size_t n)
{
	pb_fmt_num(buf, n, v);
	return strtod(buf, NULL) == v && signbit(strtod(buf, NULL)) == signbit(v);
}

static void
test_numbers(void)
{
	char buf[64];
	const double vals[] = { 0.1, 0.2, 0.1 + 0.2, 1.0 / 3, -2.5, 1e15, 1e15 + 1, 1e16, 1e300,
	                        -1e-300, DBL_MAX, DBL_MIN, 5e-324, 123456.789, 9007199254740993.0,
	                        2.0 / 3 * 1e-5, 3.141592653589793, -2.718281828459045 };
	struct pb_rng r;
	size_t i;
	int bad = 0, n = 0;
	cJSON *v;
	char *t;

	pb_fmt_num(buf, sizeof buf, 63);
	is_str(buf, "63", "pb_fmt_num: 63 as \"63\"");
	pb_fmt_num(buf, sizeof buf, -7);
	is_str(buf, "-7", "-7 as \"-7\"");
	pb_fmt_num(buf, sizeof buf, 0);
	is_str(buf, "0", "0 as \"0\"");
	pb_fmt_num(buf, sizeof buf, 999999999999999.0);
	is_str(buf, "999999999999999", "an integer just below 1e15 without a point");
	pb_fmt_num(buf, sizeof buf, 0.1);
	is_str(buf, "0.1", "0.1 as \"0.1\" (%%.15g)");
	pb_fmt_num(buf, sizeof buf, 0.1 + 0.2);
	is_str(buf, "0.30000000000000004", "0.1 + 0.2 needs %%.17g to read back");
	for (i = 0; i < sizeof vals / sizeof *vals; i++)
		if (!reads_back(vals[i], buf, sizeof buf)) {
			bad++;
			printf("# %.17g printed as %s\n", vals[i], buf);
		}
	ok(!bad, "%zu chosen numbers read back the same", sizeof vals / sizeof *vals);
	ok(reads_back(-0.0, buf, sizeof buf), "-0 reads back as -0 (%s)", buf);

	/* any finite double: random bit patterns, every exponent */
	pb_rng_seed(&r, 11);
	for (bad = 0; n < 100000; ) {
		uint64_t bits = pb_rng_next(&r);
		double x;

		memcpy(&x, &bits, sizeof x);
		if (!isfinite(x))
			continue;
		n++;
		if (!reads_back(x, buf, sizeof buf) && bad++ < 3)
			printf("# %a printed as %s\n", x, buf);
	}
	ok(!bad, "%d random finite doubles read back the same (%d did not)", n, bad);

	/* what a JSON value renders as in a template (base.h: "numbers in
	 * shortest form") */
	v = cJSON_CreateNumber(0.1);
	t = pb_json_text(v);
	is_str(t, "0.1", "pb_json_text: 0.1 as \"0.1\"");
	free(t);
	cJSON_Delete(v);
	v = cJSON_CreateNumber(1.0 / 3);
	t = pb_json_text(v);
	ok(t && strtod(t, NULL) == 1.0 / 3, "pb_json_text: 1/3 reads back the same (%s)", t ? t : "NULL");
	free(t);
	cJSON_Delete(v);
	v = cJSON_CreateNumber(63);
	t = pb_json_text(v);
	is_str(t, "63", "pb_json_text: 63 as \"63\"");
	free(t);
	cJSON_Delete(v);
	v = cJSON_CreateString("a \"q\"");
	t = pb_json_text(v);
	is_str(t, "a \"q\"", "pb_json_text: a string without quotes");
	free(t);
	cJSON_Delete(v);
	v = parse("{\"a\":[1,null]}");
	t = pb_json_text(v);
	is_str(t, "{\"a\":[1,null]}", "pb_json_text: an object as compact JSON");
	free(t);
	cJSON_Delete(v);
}

static void
test_utf8(void)
{
	ok(pb_utf8_valid(""), "the empty string");
	ok(pb_utf8_valid("plain ascii"), "ASCII");
	ok(pb_utf8_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), "two, three and four bytes");
	ok(!pb_utf8_valid("\xff\xfe"), "bytes that start nothing");
	ok(!pb_utf8_valid("\xc3"), "a sequence cut short");
	ok(!pb_utf8_valid("\xc3\x28"), "a continuation that is not one");
	ok(!pb_utf8_valid("\xc0\xaf"), "an overlong slash");
	ok(!pb_utf8_valid("\xe0\x80\xaf"), "an overlong three-byte form");
	ok(!pb_utf8_valid("\xed\xa0\x80"), "a surrogate");
	ok(!pb_utf8_valid("\xf4\x90\x80\x80"), "past U+10FFFF");
	ok(pb_utf8_valid("\xf4\x8f\xbf\xbf"), "U+10FFFF itself");
}

int
main(void)
{
	char cmd[300];

	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	test_utf8();
	test_lines();
	test_long_line();
	test_bad_lines();
	test_nul_bytes();
	test_read_error();
	test_files();
	test_write();
	test_fields();
	test_numbers();
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return tap_done();
}
