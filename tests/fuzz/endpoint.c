/* endpoint.c - fuzzes base-URL handling (pb_llm_endpoint in lib/llm.c).
 * The first byte picks the API; the rest is the base URL.  Not among
 * make fuzz's targets until the crash it finds at once (a base with no
 * host, crashes/endpoint-nohost) is fixed; run it with
 * FUZZ_TARGETS=endpoint sh tests/fuzz/run.sh 60. */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[PB_ERRLEN], *base, *url;

	if (!size)
		return 0;
	base = fuzz_str(data + 1, size - 1);
	url = pb_llm_endpoint(base, data[0] & 1 ? PB_API_ANTHROPIC : PB_API_OPENAI, err);
	free(url);
	free(base);
	return 0;
}
