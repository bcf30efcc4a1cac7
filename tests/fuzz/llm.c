/* llm.c - fuzzes the response parsers of both APIs (pb_llm_response and
 * pb_llm_error in lib/llm.c).  The first byte picks the API; the rest
 * is the body a server sent. */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum pb_llm_api api;
	char err[PB_ERRLEN], line[PB_ERRLEN];
	const char *body;
	cJSON *r;

	if (!size)
		return 0;
	api = data[0] & 1 ? PB_API_ANTHROPIC : PB_API_OPENAI;
	body = (const char *)data + 1;
	size--;
	if ((r = pb_llm_response(api, body, size, 12.5, "fallback", err)))
		cJSON_Delete(r);
	if ((r = pb_llm_error("http", 500, body, size, NULL))) {
		pb_llm_error_line(r, line);
		cJSON_Delete(r);
	}
	return 0;
}
