/* spool.c - a temp file holding what a tool read, to read again later:
 * the tools read their whole input before they take the state's lock,
 * so memory stays flat however long the input.  Errors are returned,
 * never printed. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base.h"

static int
fail(char err[PB_ERRLEN])
{
	snprintf(err, PB_ERRLEN, "%s", strerror(errno));
	return -1;
}

FILE *
pb_spool_new(char err[PB_ERRLEN])
{
	FILE *sp = tmpfile();

	if (!sp)
		fail(err);
	return sp;
}

int
pb_spool_write(FILE *sp, const void *p, size_t len, char err[PB_ERRLEN])
{
	return len && fwrite(p, len, 1, sp) != 1 ? fail(err) : 0;
}

int
pb_spool_line(FILE *sp, const char *text, size_t len, long *off,
              char err[PB_ERRLEN])
{
	if ((*off = ftell(sp)) < 0 || fwrite(text, 1, len, sp) != len ||
	    putc('\n', sp) == EOF)
		return fail(err);
	return 0;
}

int
pb_spool_read(FILE *sp, void *p, size_t len, char err[PB_ERRLEN])
{
	if (len && fread(p, len, 1, sp) != 1) {
		if (ferror(sp))
			return fail(err);
		snprintf(err, PB_ERRLEN, "short read");
		return -1;
	}
	return 0;
}

int
pb_spool_read_at(FILE *sp, long off, void *p, size_t len, char err[PB_ERRLEN])
{
	if (fseek(sp, off, SEEK_SET) < 0)
		return fail(err);
	return pb_spool_read(sp, p, len, err);
}

int
pb_spool_flush(FILE *sp, char err[PB_ERRLEN])
{
	return fflush(sp) == EOF || ferror(sp) ? fail(err) : 0;
}

int
pb_spool_rewind(FILE *sp, char err[PB_ERRLEN])
{
	return fseek(sp, 0, SEEK_SET) < 0 ? fail(err) : 0;
}
