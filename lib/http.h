/* http.h - pb.h fragment for lib/http.c and lib/llm.c, to be merged into
 * lib/pb.h.  Include after pb.h. */
#ifndef PB_HTTP_H
#define PB_HTTP_H

/* ===================================================================== */
/* http.c: many HTTP requests in flight through one libcurl multi handle */
/* ===================================================================== */

/* The client keeps at most `parallel` requests in flight, reuses its easy
 * handles and (through the multi handle) its connections, and hands each
 * finished request back through a callback.  It decides nothing about
 * what a status means: retries, rate limits and caches belong to the
 * caller, which sees the attempt count, the status and Retry-After here
 * and may submit the same request again. */
struct pb_http;

struct pb_http_opts {
	int parallel;            /* requests in flight at most (>= 1) */
	long timeout_ms;         /* whole request, connect to last byte; 0: none */
	long connect_timeout_ms; /* 0: libcurl's default (300 s) */
	const char *const *headers; /* NULL-terminated "Name: value" lines sent
	                             * with every request (copied), or NULL */
	const char *user_agent;  /* NULL: "promptbandit/VERSION" */
};

enum pb_http_result {
	PB_HTTP_DONE,    /* a response arrived (any status) */
	PB_HTTP_CONNECT, /* no response: could not connect, or the connection
	                  * failed during the exchange */
	PB_HTTP_TIMEOUT  /* no response in timeout_ms (or connect_timeout_ms) */
};

/* One request.  The caller owns it and everything it points to; the
 * client uses it from pb_http_submit until the done callback returns.  A
 * request may be submitted again (a retry) once it is done: the response
 * fields are reset by each submit, and the buffer is reused. */
struct pb_http_req {
	/* set by the caller */
	const char *url;      /* not copied */
	const char *body;     /* POST body, not copied; NULL: GET */
	size_t body_len;
	int attempt;          /* 0 for the first try; counted by the caller */
	void *data;           /* the caller's */

	/* set by the client when the request is done */
	enum pb_http_result result;
	long status;          /* HTTP status; 0 without a response */
	char *resp;           /* response body, NUL-terminated (NULL if none) */
	size_t resp_len;
	double retry_after;   /* seconds asked by Retry-After, or -1 */
	double latency_ms;    /* from submit to the last byte */
	char error[PB_ERRLEN]; /* what failed, when result != PB_HTTP_DONE */

	/* private to http.c */
	size_t resp_cap;
	void *easy;
};

/* Called once for every finished request, from inside pb_http_poll.  The
 * callback may submit new requests (including req again). */
typedef void (*pb_http_done_fn)(struct pb_http_req *req, void *arg);

/* Makes a client.  Returns NULL with err set if libcurl cannot start.
 * Calls curl_global_init, so call it before starting other threads. */
struct pb_http *pb_http_new(const struct pb_http_opts *o, char err[PB_ERRLEN]);

/* Frees the client; requests still in flight are abandoned (their done
 * callbacks never run).  The requests themselves are the caller's. */
void pb_http_free(struct pb_http *h);

/* Requests that pb_http_submit would accept now (parallel - in flight). */
int pb_http_free_slots(const struct pb_http *h);
int pb_http_in_flight(const struct pb_http *h);

/* Starts req.  Fails (returns -1, err set) if no slot is free or libcurl
 * refuses; req is then not in flight and its callback will not run. */
int pb_http_submit(struct pb_http *h, struct pb_http_req *req,
                   char err[PB_ERRLEN]);

/* Moves the transfers along and calls done for each request that
 * finished.  Waits up to timeout_ms (0: do not wait) for something to
 * happen if nothing has finished yet; returns early on pb_http_wakeup.
 * Returns the number of requests finished, or -1 (err set) if libcurl
 * failed. */
int pb_http_poll(struct pb_http *h, int timeout_ms, pb_http_done_fn done,
                 void *arg, char err[PB_ERRLEN]);

/* Makes a pb_http_poll that is waiting (or the next one) return at once.
 * The only function here that may be called from another thread. */
void pb_http_wakeup(struct pb_http *h);

/* Frees req's response buffer (the rest of req is the caller's). */
void pb_http_req_free(struct pb_http_req *req);

/* ===================================================================== */
/* llm.c: chat-completions request bodies and responses                  */
/* ===================================================================== */

/* What pb-query sends besides the messages.  The temperature is always
 * sent, so a server's own default never decides it. */
struct pb_llm_params {
	const char *model;
	double temperature;
	long max_tokens;      /* 0: not sent */
	long seed;            /* sent only if has_seed */
	int has_seed;
};

/* Checks that rec has a "messages" array fit to send: not empty, every
 * element an object with a string "role" and a "content" that is a
 * string, an array (parts) or null.  Returns 0, or -1 with err set ("no
 * messages", or which element is wrong). */
int pb_llm_check(const cJSON *rec, char err[PB_ERRLEN]);

/* Builds the body of POST /chat/completions for rec's messages (sent as
 * they are; check them first with pb_llm_check).  Returns a malloc'd
 * NUL-terminated string (free it with free()), and its length through
 * *len if len is not NULL; NULL only when out of memory. */
char *pb_llm_request(const cJSON *rec, const struct pb_llm_params *p,
                     size_t *len);

/* Parses a successful (2xx) chat-completions body into the object pb-query
 * stores as "response": {"text","model","finish_reason","usage":{
 * "prompt_tokens","completion_tokens","total_tokens"} or null,
 * "latency_ms"}.  model falls back to fallback_model when the body has
 * none.  A body that is not JSON, or has no choices or no content, is a
 * failure: returns NULL with err set (with a short snippet of the body);
 * never a made-up answer. */
cJSON *pb_llm_response(const char *body, size_t len, double latency_ms,
                       const char *fallback_model, char err[PB_ERRLEN]);

/* Builds the object pb-query stores as "error": {"kind","status","type",
 * "message"}.  kind is "http", "connect", "timeout", "parse" or "input";
 * status 0 when there was no response.  When body (may be NULL) is an
 * error in a known shape (OpenAI {"error":{"message","type","code"}},
 * vLLM {"object":"error","message","type"}, Anthropic {"type":"error",
 * "error":{"type","message"}}, or {"error":"text"}, {"detail":"text"}),
 * type and message come from it; otherwise message is detail if given,
 * else a short snippet of the body; type is null when unknown.  Returns
 * NULL only when out of memory. */
cJSON *pb_llm_error(const char *kind, long status, const char *body,
                    size_t len, const char *detail);

/* One line describing an error object for stderr, e.g. "HTTP 500: boom"
 * or "connect: Could not connect to server", with control characters
 * replaced by spaces. */
void pb_llm_error_line(const cJSON *error, char out[PB_ERRLEN]);

#endif
