/* sim.c - fuzzes pb-sim's request handling (pb_sim_handle in sim/),
 * what parses a request's body.  The first byte picks the method and
 * the path, the second the headers; the rest is the body. */
#include <stdio.h>

#include "fuzz.h"
#include "../../sim/sim.h"

static struct pb_sim sim;

static const char *const paths[] = {
	"/v1/chat/completions", "/v1/messages", "/v1/models", "/pb-sim/stats",
	"/pb-sim/reset", "/v1/", "/", "/v1/chat/completions/x",
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char tasks[] =
		"{\"id\":\"t1\",\"input\":\"What is 2+2?\",\"answer\":\"#### 4\"}\n"
		"{\"id\":\"t2\",\"input\":\"Is the sky green?\",\"answer\":false}\n"
		"{\"id\":\"t3\",\"input\":\"Pick one: (A) x (B) y\",\"answer\":\"B\","
		"\"difficulty\":1.5}\n";
	struct pb_sim_request q = { 0 };
	struct pb_sim_response r = { 0 };
	char err[PB_ERRLEN];

	if (!sim.priv) {
		FILE *fp = fmemopen((void *)tasks, sizeof tasks - 1, "r");

		if (!fp || pb_sim_init(&sim, 1, err) < 0 ||
		    pb_sim_load_tasks(&sim, fp, "tasks", err) < 0)
			abort();
		fclose(fp);
		sim.fault[PB_SIM_FMALFORMED] = 0.05;
		sim.fault[PB_SIM_F429] = 0.05;
	}
	if (size < 2)
		return 0;
	q.method = data[0] & 0x80 ? "GET" : data[0] & 0x40 ? "PUT" : "POST";
	q.path = paths[data[0] % (sizeof paths / sizeof *paths)];
	q.too_big = (data[1] & 0x7) == 7;
	q.authorization = data[1] & 0x8 ? "Bearer sk-x" : NULL;
	q.x_api_key = data[1] & 0x10 ? "sk-x" : NULL;
	q.anthropic_version = data[1] & 0x20 ? "2023-06-01" : NULL;
	sim.api_key = data[1] & 0x40 ? "sk-x" : NULL;
	q.body = (const char *)data + 2;
	q.len = size - 2;
	pb_sim_handle(&sim, &q, &r);
	free(r.body);
	return 0;
}
