/* endpoint.c - fuzzes base-URL handling (pb_llm_endpoint in lib/llm.c).
 * The first byte picks the API (and, for Azure, whether a deployment
 * name is given); the rest is the base URL. */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[PB_ERRLEN], *base, *url;

	if (!size)
		return 0;
	base = fuzz_str(data + 1, size - 1);
	url = pb_llm_endpoint(base, data[0] % 3 == 0 ? PB_API_OPENAI : data[0] % 3 == 1 ?
	                      PB_API_ANTHROPIC : PB_API_AZURE, data[0] & 8 ? "dep" : NULL, err);
	free(url);
	free(base);
	return 0;
}
