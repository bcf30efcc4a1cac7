/* fuzz.h - what the libFuzzer targets in tests/fuzz/ share: the entry
 * point's prototype and a NUL-terminated copy of the input. */
#ifndef PB_FUZZ_H
#define PB_FUZZ_H
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/pb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a C string (cut at its first NUL, as a C caller sees it).
 * Free it. */
static inline char *
fuzz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}
#endif
