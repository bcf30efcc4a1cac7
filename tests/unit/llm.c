/* llm.c - unit tests of lib/llm.c: request bodies, responses, error shapes. */
#include <stdlib.h>

#include "tap.h"
#include "../../lib/pb.h"
#include "../../lib/internal.h"

static void
test_check(void)
{
	static const struct { const char *rec, *err; } bad[] = {
		{ "{\"pull\":1}", "no messages" },
		{ "{\"messages\":[]}", "no messages" },
		{ "{\"messages\":\"hi\"}", "no messages" },
		{ "{\"messages\":[\"hi\"]}", "messages[0] has no \"role\"" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"content\":\"b\"}]}",
		  "messages[1] has no \"role\"" },
		{ "{\"messages\":[{\"role\":\"user\"}]}", "messages[0] has no \"content\"" },
		{ "{\"messages\":[{\"role\":\"user\",\"content\":3}]}",
		  "messages[0] has no \"content\"" },
	};
	char err[PB_ERRLEN];
	cJSON *r;
	size_t i;

	for (i = 0; i < sizeof bad / sizeof *bad; i++) {
		r = parse(bad[i].rec);
		err[0] = '\0';
		ok(pb_llm_check(r, err) == -1, "check refuses %s", bad[i].rec);
		is_str(err, bad[i].err, "  and says %s", bad[i].err);
		cJSON_Delete(r);
	}
	r = parse("{\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},"
	          "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]},"
	          "{\"role\":\"assistant\",\"content\":null}]}");
	ok(pb_llm_check(r, err) == 0, "check takes string, parts and null content");
	cJSON_Delete(r);
}

static void
test_request(void)
{
	struct pb_llm_params p = { .model = "m1" };
	cJSON *r = parse("{\"pull\":3,\"task\":{\"id\":\"t\"},\"messages\":"
	                 "[{\"role\":\"user\",\"content\":\"2+2? \\u00e9\\n\"}]}");
	char *before = cJSON_PrintUnformatted(r), *after, *s;
	size_t len = 0;

	s = pb_llm_request(r, &p, &len);
	is_str(s, "{\"model\":\"m1\",\"messages\":[{\"role\":\"user\",\"content\":"
	       "\"2+2? \xc3\xa9\\n\"}],\"temperature\":0}",
	       "request: model, messages as they are, temperature 0 sent");
	ok(s && len == strlen(s), "request: length returned");
	free(s);

	p.temperature = 0.7;
	p.max_tokens = 256;
	p.seed = 42;
	p.has_seed = 1;
	s = pb_llm_request(r, &p, NULL);
	is_str(s, "{\"model\":\"m1\",\"messages\":[{\"role\":\"user\",\"content\":"
	       "\"2+2? \xc3\xa9\\n\"}],\"temperature\":0.7,\"max_tokens\":256,\"seed\":42}",
	       "request: temperature 0.7, max_tokens and seed when asked");
	free(s);

	after = cJSON_PrintUnformatted(r);
	is_str(after, before, "request: the record is left as it was");
	cJSON_free(before);
	cJSON_free(after);
	cJSON_Delete(r);
}

/* pb_llm_response of body printed compactly (free with cJSON_free), or
 * NULL when it is no answer. */
static char *
response_text(enum pb_llm_api api, const char *body, double ms, const char *model)
{
	char err[PB_ERRLEN], *s;
	cJSON *o = pb_llm_response(api, body, strlen(body), ms, model, err);

	s = o ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	return s;
}

static void
test_response(void)
{
	const char *body =
	    "{\"id\":\"c1\",\"object\":\"chat.completion\",\"model\":\"sim-1\","
	    "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
	    "\"content\":\"The answer is 4.\"},\"finish_reason\":\"stop\"}],"
	    "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":5,\"total_tokens\":17}}";
	char err[PB_ERRLEN], *s;
	cJSON *o;

	s = response_text(PB_API_OPENAI, body, 12.345, "fallback");
	is_str(s, "{\"text\":\"The answer is 4.\",\"model\":\"sim-1\",\"finish_reason\":"
	       "\"stop\",\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":5,"
	       "\"total_tokens\":17},\"latency_ms\":12.3}",
	       "response: text, model, finish_reason, usage, latency to 0.1 ms");
	cJSON_free(s);

	body = "{\"choices\":[{\"message\":{\"content\":\"\"},\"finish_reason\":\"length\"}],"
	       "\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":3}}";
	o = pb_llm_response(PB_API_OPENAI, body, strlen(body), 1, "asked", err);
	is_str(pb_json_str(o, "text"), "", "response: empty content is an answer");
	is_str(pb_json_str(o, "model"), "asked", "response: model falls back to the one asked");
	is_str(pb_json_str(o, "finish_reason"), "length", "response: finish_reason length");
	{
		double t = 0;
		ok(pb_json_num(o, "usage.total_tokens", &t) == 0 && t == 5,
		   "response: missing total_tokens is the sum");
	}
	cJSON_Delete(o);

	body = "{\"choices\":[{\"message\":{\"content\":\"x\"}}]}";
	o = pb_llm_response(PB_API_OPENAI, body, strlen(body), 1, NULL, err);
	ok(o && cJSON_IsNull(cJSON_GetObjectItem(o, "usage")) &&
	   cJSON_IsNull(cJSON_GetObjectItem(o, "model")) &&
	   cJSON_IsNull(cJSON_GetObjectItem(o, "finish_reason")),
	   "response: absent usage, model, finish_reason are null");
	cJSON_Delete(o);

	body = "{\"id\":\"c\",\"choices\":[]}";
	o = pb_llm_response(PB_API_OPENAI, body, strlen(body), 1, "m", err);
	ok(!o, "response: no choices is a failure, not an answer");
	is_str(err, "no choices in response: {\"id\":\"c\",\"choices\":[]}",
	       "  with a snippet of the body");

	body = "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":null,"
	       "\"tool_calls\":[]}}]}";
	o = pb_llm_response(PB_API_OPENAI, body, strlen(body), 1, "m", err);
	ok(!o && !strncmp(err, "no content in response: ", 24),
	   "response: null content is a failure");

	body = "<html>\n<body>oops</body>";
	o = pb_llm_response(PB_API_OPENAI, body, strlen(body), 1, "m", err);
	ok(!o, "response: HTML is a failure");
	is_str(err, "response is not JSON: <html> <body>oops</body>",
	       "  quoted with control characters as spaces");

	o = pb_llm_response(PB_API_OPENAI, "", 0, 1, "m", err);
	ok(!o, "response: empty body is a failure");
	is_str(err, "response is not JSON: empty body", "  and says so");

	{
		char big[400];
		memset(big, 'a', sizeof big - 1);
		big[sizeof big - 1] = '\0';
		memcpy(big + 119, "\xc3\xa9", 2); /* a 2-byte character across the cut */
		o = pb_llm_response(PB_API_OPENAI, big, strlen(big), 1, "m", err);
		ok(!o && strlen(err) == strlen("response is not JSON: ") + 119 + 3 &&
		   !strcmp(err + strlen(err) - 3, "..."),
		   "response: a long body is cut at a character boundary");
	}
}

static void
error_is(const char *kind, long status, const char *body, const char *detail,
         const char *want, const char *what)
{
	cJSON *e = pb_llm_error(kind, status, body, body ? strlen(body) : 0, detail);
	char *s = e ? cJSON_PrintUnformatted(e) : NULL;

	is_str(s, want, "error: %s", what);
	cJSON_free(s);
	cJSON_Delete(e);
}

static void
test_error(void)
{
	char line[PB_ERRLEN];
	cJSON *e;

	error_is("http", 429, "{\"error\":{\"message\":\"Rate limit reached\","
	         "\"type\":\"requests\",\"param\":null,\"code\":\"rate_limit_exceeded\"}}",
	         NULL, "{\"kind\":\"http\",\"status\":429,\"type\":\"requests\","
	         "\"code\":\"rate_limit_exceeded\",\"message\":\"Rate limit reached\"}",
	         "OpenAI shape, with the code when it is not the type");
	error_is("http", 429, "{\"error\":{\"message\":\"You exceeded your current quota\","
	         "\"type\":\"insufficient_quota\",\"param\":null,\"code\":\"insufficient_quota\"}}",
	         NULL, "{\"kind\":\"http\",\"status\":429,\"type\":\"insufficient_quota\","
	         "\"message\":\"You exceeded your current quota\"}",
	         "OpenAI shape: a code equal to the type is not repeated");
	error_is("http", 400, "{\"error\":{\"message\":\"bad\",\"code\":\"invalid_x\"}}",
	         NULL, "{\"kind\":\"http\",\"status\":400,\"type\":\"invalid_x\","
	         "\"message\":\"bad\"}", "OpenAI shape without type: code stands in");
	error_is("http", 400, "{\"object\":\"error\",\"message\":\"max_tokens too large\","
	         "\"type\":\"BadRequestError\",\"param\":null,\"code\":400}", NULL,
	         "{\"kind\":\"http\",\"status\":400,\"type\":\"BadRequestError\","
	         "\"message\":\"max_tokens too large\"}", "vLLM flat shape");
	error_is("http", 529, "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
	         "\"message\":\"Overloaded\"}}", NULL,
	         "{\"kind\":\"http\",\"status\":529,\"type\":\"overloaded_error\","
	         "\"message\":\"Overloaded\"}", "Anthropic shape");
	error_is("http", 404, "{\"error\":\"model 'x' not found\"}", NULL,
	         "{\"kind\":\"http\",\"status\":404,\"type\":null,"
	         "\"message\":\"model 'x' not found\"}", "Ollama string shape");
	error_is("http", 422, "{\"detail\":\"Not Found\"}", NULL,
	         "{\"kind\":\"http\",\"status\":422,\"type\":null,\"message\":\"Not Found\"}",
	         "FastAPI detail shape");
	error_is("http", 502, "<html><body>Bad Gateway</body></html>\r\n", NULL,
	         "{\"kind\":\"http\",\"status\":502,\"type\":null,"
	         "\"message\":\"<html><body>Bad Gateway</body></html>  \"}",
	         "unparseable body: a snippet");
	error_is("http", 503, "{\"status\":\"down\"}", NULL,
	         "{\"kind\":\"http\",\"status\":503,\"type\":null,"
	         "\"message\":\"{\\\"status\\\":\\\"down\\\"}\"}",
	         "JSON of no known shape: a snippet");
	error_is("http", 500, NULL, NULL,
	         "{\"kind\":\"http\",\"status\":500,\"type\":null,"
	         "\"message\":\"empty response body\"}", "empty body");
	error_is("connect", 0, NULL, "Couldn't connect to server",
	         "{\"kind\":\"connect\",\"status\":0,\"type\":null,"
	         "\"message\":\"Couldn't connect to server\"}", "connect: the detail");
	error_is("parse", 200, "{\"choices\":[]}", "no choices in response: {\"choices\":[]}",
	         "{\"kind\":\"parse\",\"status\":200,\"type\":null,"
	         "\"message\":\"no choices in response: {\\\"choices\\\":[]}\"}",
	         "parse: the detail when the body is no error");
	error_is("parse", 200, "{\"error\":{\"message\":\"upstream failed\",\"type\":\"x\"}}",
	         "no choices", "{\"kind\":\"parse\",\"status\":200,\"type\":\"x\","
	         "\"message\":\"upstream failed\"}",
	         "parse: an error body sent with 200 speaks for itself");

	{
		const char *b = "{\"error\":{\"message\":\"a\\nb\",\"type\":\"t\"}}";
		e = pb_llm_error("http", 500, b, strlen(b), NULL);
	}
	pb_llm_error_line(e, line);
	is_str(line, "HTTP 500: a b", "error line: HTTP status, one line");
	cJSON_Delete(e);
	e = pb_llm_error("timeout", 0, NULL, 0, "Operation timed out");
	pb_llm_error_line(e, line);
	is_str(line, "timeout: Operation timed out", "error line: kind and message");
	cJSON_Delete(e);
}

static void
test_request_more(void)
{
	static const char *const stops[] = { "\n\n", "END", NULL };
	struct pb_llm_params p = { .model = "m", .temperature = 0.5,
	                           .max_completion_tokens = 100, .has_top_p = 1,
	                           .top_p = 0.9, .stop = stops };
	cJSON *r = parse("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
	cJSON *extra = parse("{\"temperature\":1,\"reasoning_effort\":\"low\"}");
	char *s;

	s = pb_llm_request(r, &p, NULL);
	is_str(s, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
	       "\"temperature\":0.5,\"top_p\":0.9,\"max_completion_tokens\":100,"
	       "\"stop\":[\"\\n\\n\",\"END\"]}",
	       "request: top_p, max_completion_tokens, stop");
	free(s);
	p.extra = extra;
	s = pb_llm_request(r, &p, NULL);
	is_str(s, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
	       "\"temperature\":1,\"top_p\":0.9,\"max_completion_tokens\":100,"
	       "\"stop\":[\"\\n\\n\",\"END\"],\"reasoning_effort\":\"low\"}",
	       "request: --body replaces and adds members last");
	free(s);
	cJSON_Delete(r);
	cJSON_Delete(extra);

	r = parse("{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
	          "{\"role\":\"user\",\"content\":\"2+2?\"},"
	          "{\"role\":\"system\",\"content\":\"Digits only.\"}]}");
	p = (struct pb_llm_params){ .api = PB_API_ANTHROPIC, .model = "claude", .stop = stops };
	s = pb_llm_request(r, &p, NULL);
	is_str(s, "{\"model\":\"claude\",\"messages\":[{\"role\":\"user\",\"content\":\"2+2?\"}],"
	       "\"system\":\"Be brief.\\n\\nDigits only.\",\"temperature\":0,\"max_tokens\":1024,"
	       "\"stop_sequences\":[\"\\n\\n\",\"END\"]}",
	       "anthropic: system messages joined into \"system\", max_tokens 1024, stop_sequences");
	free(s);
	p.max_completion_tokens = 50;
	p.stop = NULL;
	s = pb_llm_request(r, &p, NULL);
	ok(s && strstr(s, "\"max_tokens\":50") && !strstr(s, "max_completion"),
	   "anthropic: --max-completion-tokens is sent as max_tokens");
	free(s);
	cJSON_Delete(r);

	r = parse("{\"messages\":[{\"role\":\"system\",\"content\":[{\"type\":\"text\",\"text\":\"A\"}]},"
	          "{\"role\":\"system\",\"content\":\"B\"},{\"role\":\"user\",\"content\":\"q\"}]}");
	s = pb_llm_request(r, &p, NULL);
	ok(s && strstr(s, "\"system\":[{\"type\":\"text\",\"text\":\"A\"},{\"type\":\"text\",\"text\":\"B\"}]"),
	   "anthropic: system parts become a list of text blocks");
	free(s);
	cJSON_Delete(r);

	r = parse("{\"messages\":[{\"role\":\"user\",\"content\":\"abcd\u00e9\"},"
	          "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"xyz\"}]}]}");
	is_num(pb_llm_estimate(r), 2, 0, "estimate: 8 characters (not bytes) are 2 tokens");
	cJSON_Delete(r);
	is_str(pb_llm_path(PB_API_ANTHROPIC), "/messages", "path: anthropic");
	is_str(pb_llm_path(PB_API_OPENAI), "/chat/completions", "path: openai");
}

static void
test_response_anthropic(void)
{
	const char *body =
	    "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\","
	    "\"model\":\"claude-x\",\"content\":[{\"type\":\"text\",\"text\":\"The answer \"},"
	    "{\"type\":\"text\",\"text\":\"is 4.\"}],\"stop_reason\":\"end_turn\","
	    "\"stop_sequence\":null,\"usage\":{\"input_tokens\":10,\"output_tokens\":5,"
	    "\"cache_read_input_tokens\":2}}";
	char err[PB_ERRLEN], *s;
	cJSON *o;

	s = response_text(PB_API_ANTHROPIC, body, 3, "asked");
	is_str(s, "{\"text\":\"The answer is 4.\",\"model\":\"claude-x\",\"finish_reason\":"
	       "\"end_turn\",\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":5,"
	       "\"total_tokens\":17},\"latency_ms\":3}",
	       "anthropic response: text blocks joined, stop_reason, usage in OpenAI's names");
	cJSON_free(s);

	body = "{\"content\":[{\"type\":\"tool_use\",\"id\":\"t\"}],\"stop_reason\":\"tool_use\"}";
	o = pb_llm_response(PB_API_ANTHROPIC, body, strlen(body), 1, "m", err);
	ok(!o && !strncmp(err, "no text in response: ", 21), "anthropic: no text block is a failure");
	body = "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}";
	o = pb_llm_response(PB_API_ANTHROPIC, body, strlen(body), 1, "m", err);
	ok(!o && !strncmp(err, "error in response: ", 19), "anthropic: an error sent with 200 is no answer");
	body = "{\"choices\":[{\"message\":{\"content\":\"x\"}}]}";
	o = pb_llm_response(PB_API_ANTHROPIC, body, strlen(body), 1, "m", err);
	ok(!o, "anthropic: an OpenAI body is no answer");
	body = "{\"model\":\"m\",\"system_fingerprint\":\"fp_1\",\"choices\":[{\"message\":"
	       "{\"content\":\"x\"},\"finish_reason\":\"stop\"}]}";
	o = pb_llm_response(PB_API_OPENAI, body, strlen(body), 1, "m", err);
	is_str(pb_json_str(o, "system_fingerprint"), "fp_1", "openai: system_fingerprint kept");
	cJSON_Delete(o);
	o = pb_llm_response(PB_API_OPENAI, "[1]", 3, 1, "m", err);
	ok(!o && !strncmp(err, "response is not JSON", 20), "a JSON array is no response object");
}


/* url_is BASE API MODEL WANT: pb_llm_endpoint's answer, or "ERR: ..." */
static void
url_is(const char *base, enum pb_llm_api api, const char *model, const char *want,
       const char *what)
{
	char err[PB_ERRLEN], buf[PB_ERRLEN + 8], *u = pb_llm_endpoint(base, api, model, err);

	if (u)
		snprintf(buf, sizeof buf, "%s", u);
	else
		snprintf(buf, sizeof buf, "ERR: %s", err);
	is_str(buf, want, what);
	free(u);
}

static void
test_endpoint(void)
{
	url_is("http://h/v1", PB_API_OPENAI, NULL, "http://h/v1/chat/completions", "openai: /v1");
	url_is("http://h/v1//", PB_API_OPENAI, NULL, "http://h/v1/chat/completions",
	       "openai: trailing slashes");
	url_is("https://h/openai/deployments/x?api-version=2024-06-01", PB_API_OPENAI, NULL,
	       "https://h/openai/deployments/x/chat/completions?api-version=2024-06-01",
	       "a query stays after the path");
	url_is("http://h:8/v1/?a=1&b=2", PB_API_OPENAI, NULL, "http://h:8/v1/chat/completions?a=1&b=2",
	       "a query after a trailing slash");
	url_is("http://h", PB_API_ANTHROPIC, NULL, "http://h/v1/messages", "anthropic: a host");
	url_is("http://h/v1", PB_API_ANTHROPIC, NULL, "http://h/v1/messages", "anthropic: /v1");
	url_is("http://h/anthropic/", PB_API_ANTHROPIC, NULL, "http://h/anthropic/v1/messages",
	       "anthropic: a gateway path, as the SDK joins it");
	url_is("http://h/gw?k=v", PB_API_ANTHROPIC, NULL, "http://h/gw/v1/messages?k=v",
	       "anthropic: a query kept");
	url_is("https://r.openai.azure.com", PB_API_AZURE, "dep",
	       "https://r.openai.azure.com/openai/deployments/dep/chat/completions?api-version="
	       PB_AZURE_API_VERSION, "azure: the deployment URL");
	url_is("https://r.openai.azure.com/openai/deployments/d?x=1", PB_API_AZURE, "m",
	       "https://r.openai.azure.com/openai/deployments/d/chat/completions?x=1&api-version="
	       PB_AZURE_API_VERSION, "azure: a deployment URL, api-version added after a query");
	url_is("https://r.openai.azure.com/openai/v1", PB_API_AZURE, "m",
	       "https://r.openai.azure.com/openai/v1/chat/completions", "azure: the v1 API");
	url_is("https://r/", PB_API_AZURE, "a/b", "ERR: Azure: the deployment name (--model) is "
	       "empty or has /, ?, # or %", "azure: a deployment name with a slash");
	url_is("http://", PB_API_ANTHROPIC, NULL, "ERR: base URL 'http://' has no host",
	       "no host: an error, no read past the end");
	url_is("http://:80/v1", PB_API_OPENAI, NULL, "ERR: base URL 'http://:80/v1' has no host",
	       "a port but no host");
	url_is("https:///v1", PB_API_OPENAI, NULL, "ERR: base URL 'https:///v1' has no host",
	       "an empty host");
	url_is("", PB_API_OPENAI, NULL, "ERR: the base URL is empty", "empty: never the default");
	url_is("http://u:pw@h/v1", PB_API_OPENAI, NULL, "ERR: base URL has a user name or "
	       "password (user:pw@host): send credentials with --header instead", "user:pw@ refused");
	url_is("http://h/v1#x", PB_API_OPENAI, NULL, "ERR: base URL 'http://h/v1#x' has a fragment (#...)",
	       "a fragment refused");
	url_is("http://h/a b", PB_API_OPENAI, NULL, "ERR: base URL has a space or control character",
	       "a space refused");
	url_is("ftp://h", PB_API_OPENAI, NULL, "ERR: base URL 'ftp://h' is not http:// or https://",
	       "not http");
}

static void
test_headers(void)
{
	char err[PB_ERRLEN], *h;
	const char **lines = NULL;
	const char *extra[] = { "authorization: Bearer other", "X-A: 1", NULL };
	char *auth;
	struct pb_llm_conn c = { 0 };

	h = pb_llm_header("X-Trace:  t 1  ", err);
	is_str(h, "X-Trace: t 1", "a header made NAME: VALUE, trimmed");
	free(h);
	ok(!pb_llm_header("X Trace: v", err) && !strstr(err, "v"), "a space in the name: refused");
	ok(!pb_llm_header("X-Token: sec\rret", err) && !strstr(err, "sec"),
	   "a CR in the value: refused, the value not quoted");
	ok(!pb_llm_header("X-Token:", err), "an empty value: refused");
	ok(pb_llm_header_secret("X-Api-Key: k") && pb_llm_header_secret("Proxy-Authorization: k") &&
	   !pb_llm_header_secret("X-Route: k"), "credential-named headers are secret");
	ok(pb_llm_headers(PB_API_OPENAI, "sk-1", extra, &lines, &auth) == 0 &&
	   !strcmp(lines[0], "Content-Type: application/json") &&
	   !strcmp(lines[1], extra[0]) && !strcmp(lines[2], extra[1]) && !lines[3] && !auth,
	   "a user's Authorization header takes the key's place");
	free(lines);
	free(auth);
	ok(pb_llm_headers(PB_API_AZURE, "sk-2", NULL, &lines, &auth) == 0 &&
	   !strcmp(lines[1], "api-key: sk-2"), "azure: the key in api-key");
	free(lines);
	free(auth);
	ok(pb_llm_conn_header(&c, "Authorization: Bearer tok-123456", 0, err) == 0 &&
	   c.nsecrets == 2 && !strcmp(c.secrets[0], "Bearer tok-123456") &&
	   !strcmp(c.secrets[1], "tok-123456"), "a credential header: its value and last word are secrets");
	ok(pb_llm_conn_header(&c, "X-Route: abcdefgh", 0, err) == 0 && c.nsecrets == 2,
	   "an ordinary header is no secret");
	ok(pb_llm_conn_header(&c, "X-Id: abcdefgh", 1, err) == 0 && c.nsecrets == 3,
	   "... unless it is marked so");
	pb_llm_conn_free(&c);
}

/* stream_is API SSE WANT: the assembled body, or "ERR: ..." */
static void
stream_is(enum pb_llm_api api, const char *sse, const char *want, const char *what)
{
	char err[PB_ERRLEN], buf[4096], *w = pb_llm_stream_assemble(api, sse, strlen(sse), err);

	snprintf(buf, sizeof buf, w ? "%s" : "ERR: %s", w ? w : err);
	is_str(buf, want, what);
	free(w);
}

static void
test_stream(void)
{
	stream_is(PB_API_OPENAI,
	    "data: {\"id\":\"c1\",\"model\":\"m\",\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n"
	    ": a comment\r\n\r\n"
	    "data: {\"choices\":[{\"delta\":{\"content\":\"He\"}}]}\r\n\r\n"
	    "data: {\"choices\":[{\"delta\":{\"content\":\"llo\"},\"finish_reason\":\"stop\"}]}\n\n"
	    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5}}\n\n"
	    "data: [DONE]\n\n",
	    "{\"id\":\"c1\",\"model\":\"m\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,"
	    "\"message\":{\"role\":\"assistant\",\"content\":\"Hello\"},\"finish_reason\":\"stop\"}],"
	    "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5}}",
	    "openai: deltas joined, CRLF and comments, the usage chunk");
	stream_is(PB_API_OPENAI, "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n",
	    "ERR: the stream ended before the answer did (no [DONE])", "openai: cut short");
	stream_is(PB_API_OPENAI, "data: {\"error\":{\"message\":\"boom\"}}\n\n",
	    "ERR: error in the stream: boom", "openai: an error event");
	stream_is(PB_API_OPENAI, "data: {nope\n\n", "ERR: an event of the stream is not JSON",
	    "openai: an event that is not JSON");
	stream_is(PB_API_ANTHROPIC,
	    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\","
	    "\"model\":\"c\",\"usage\":{\"input_tokens\":7,\"output_tokens\":1}}}\n\n"
	    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
	    "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
	    "event: ping\ndata: {\"type\":\"ping\"}\n\n"
	    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
	    "\"delta\":{\"type\":\"text_delta\",\"text\":\"4\\u00e9\"}}\n\n"
	    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
	    "\"end_turn\"},\"usage\":{\"output_tokens\":3}}\n\n"
	    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
	    "{\"id\":\"msg_1\",\"model\":\"c\",\"type\":\"message\",\"role\":\"assistant\","
	    "\"content\":[{\"type\":\"text\",\"text\":\"4\u00e9\"}],\"stop_reason\":\"end_turn\","
	    "\"usage\":{\"input_tokens\":7,\"output_tokens\":3}}",
	    "anthropic: message_start, text deltas and message_delta into one message");
	stream_is(PB_API_ANTHROPIC,
	    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{}}\n\n"
	    "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
	    "\"message\":\"Overloaded\"}}\n\n",
	    "ERR: error in the stream: Overloaded", "anthropic: an error event");
	stream_is(PB_API_ANTHROPIC, "event: message_start\ndata: {\"type\":\"message_start\"}\n\n",
	    "ERR: the stream ended before the answer did (no message_stop)", "anthropic: cut short");
}

int
main(void)
{
	test_check();
	test_endpoint();
	test_headers();
	test_stream();
	test_request();
	test_request_more();
	test_response_anthropic();
	test_response();
	test_error();
	return tap_done();
}
