/* spool.c - unit tests of lib/spool.c: what goes into a spool file comes
 * back, a line is found again by its offset, and a file that ends early
 * says "short read". */
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "../../lib/pb.h"

int
main(void)
{
	char err[PB_ERRLEN], buf[64];
	long a[3] = { 7, -1, 42 }, b[3] = { 0 }, off1, off2, x;
	FILE *sp = pb_spool_new(err);

	ok(sp != NULL, "a spool file");
	ok(pb_spool_write(sp, a, sizeof a, err) == 0 &&
	   pb_spool_line(sp, "{\"id\":1}", 8, &off1, err) == 0 &&
	   pb_spool_line(sp, "{\"id\":22}", 9, &off2, err) == 0 &&
	   pb_spool_flush(sp, err) == 0, "records and lines go in");
	ok(off1 == (long)sizeof a && off2 == off1 + 9, "each line's offset (%ld, %ld)",
	   off1, off2);
	ok(pb_spool_rewind(sp, err) == 0 && pb_spool_read(sp, b, sizeof b, err) == 0 &&
	   !memcmp(a, b, sizeof a), "the record comes back");
	memset(buf, 0, sizeof buf);
	ok(pb_spool_read_at(sp, off2, buf, 9, err) == 0 && !strcmp(buf, "{\"id\":22}"),
	   "a line comes back by its offset");
	memset(buf, 0, sizeof buf);
	ok(pb_spool_read_at(sp, off1, buf, 8, err) == 0 && !strcmp(buf, "{\"id\":1}"),
	   "and an earlier one after it");
	ok(pb_spool_read_at(sp, off2 + 5, &x, sizeof x, err) < 0 &&
	   !strcmp(err, "short read"), "past the end: short read");
	ok(pb_spool_write(sp, NULL, 0, err) == 0 && pb_spool_read(sp, NULL, 0, err) == 0,
	   "nothing written or read is no error");
	fclose(sp);
	return tap_done();
}
