/* state.c - fuzzes state loading (pb_state_load in lib/state.c) on a
 * temp file holding the input.  With PB_FUZZ_STRICT=1 in the
 * environment, a state that loads must also save and load again (what
 * pb-update does next): a save that no load accepts aborts. */
#include <stdio.h>
#include <unistd.h>

#include "fuzz.h"

static char path[64], path2[64];

static void
tmp(char *p, size_t n, const char *what)
{
	int fd;

	snprintf(p, n, "/tmp/pb-fuzz-%s.XXXXXX", what);
	if ((fd = mkstemp(p)) < 0)
		abort();
	close(fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pb_state st, again;
	char err[PB_ERRLEN];
	FILE *fp;

	if (!*path) {
		tmp(path, sizeof path, "state");
		tmp(path2, sizeof path2, "saved");
	}
	if (!(fp = fopen(path, "w")))
		abort();
	if (size && fwrite(data, 1, size, fp) != size)
		abort();
	fclose(fp);
	if (pb_state_load(&st, path, err) < 0)
		return 0;
	if (getenv("PB_FUZZ_STRICT")) {
		unlink(path2);
		if (pb_state_save(&st, path2, err) < 0)
			abort(); /* loaded, yet cannot be saved */
		if (pb_state_load(&again, path2, err) < 0) {
			fprintf(stderr, "saved state does not load: %s\n", err);
			abort();
		}
		pb_state_free(&again);
	}
	pb_state_free(&st);
	return 0;
}
