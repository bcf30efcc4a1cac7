/* llm.h - the model layer: HTTP, request bodies and responses, retries, rate
 * limits, the cache, the pb-query engine and the client set-up pb-query
 * and the judge share.  Depends on base.h only.
 *
 * Conventions as in pb.h. */
#ifndef PB_LLM_H
#define PB_LLM_H

#include "base.h"

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
	long stall_ms;           /* fail a request that moves no byte, either
	                          * way, for this long (a timeout); 0: no limit */
	const char *const *headers; /* NULL-terminated "Name: value" lines sent
	                             * with every request (copied), or NULL */
	const char *user_agent;  /* NULL: "promptbandit/VERSION" */
	const char *cacert;      /* CA bundle file to verify servers by, or
	                          * NULL: libcurl's default */
	const char *capath;      /* a folder of hashed CA certificates, or NULL */
	size_t max_response;     /* a body longer than this (after decoding)
	                          * fails, PB_HTTP_TOO_BIG; 0: no limit */
};

enum pb_http_result {
	PB_HTTP_DONE,    /* a response arrived (any status) */
	PB_HTTP_CONNECT, /* no response: could not connect, or the connection
	                  * failed during the exchange */
	PB_HTTP_TIMEOUT, /* no response in timeout_ms (or connect_timeout_ms) */
	PB_HTTP_TLS,     /* TLS failed: the certificate could not be verified,
	                  * the handshake failed, or a CA file is unusable */
	PB_HTTP_TOO_BIG  /* the body grew past max_response */
};

/* What the rate-limit headers of a response said (OpenAI's
 * x-ratelimit-{remaining,reset}-{requests,tokens}, Anthropic's
 * anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-
 * {remaining,reset}): remaining counts, or -1 when absent; reset in
 * seconds from when the response came, or -1. */
struct pb_http_ratelimit {
	double req_remaining, req_reset;
	double tok_remaining, tok_reset;
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
	double retry_after;   /* seconds asked by retry-after-ms, else by
	                       * Retry-After (seconds or HTTP date), or -1 */
	int should_retry;     /* x-should-retry: 1 true, 0 false, -1 absent */
	int event_stream;     /* Content-Type: text/event-stream */
	struct pb_http_ratelimit rl;
	double latency_ms;    /* from submit to the last byte */
	char error[PB_ERRLEN]; /* what failed, when result != PB_HTTP_DONE */

	/* private to http.c */
	size_t resp_cap;
	void *easy;
	double ra_s, ra_ms;   /* the two headers as they came */
	double moved;         /* when a byte last moved (stall limit), ms */
	long long seen;       /* bytes moved by then, both ways */
	long stall_ms;
	int stalled;
	size_t max_response;
	int too_big;
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

/* Requests in flight now (pb_http_submit accepts up to parallel). */
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

/* Abandons req if it is in flight: its done callback will not run, and
 * its slot is free at once. */
void pb_http_cancel(struct pb_http *h, struct pb_http_req *req);

/* Makes a pb_http_poll that is waiting (or the next one) return at once.
 * The only function here that may be called from another thread. */
void pb_http_wakeup(struct pb_http *h);

/* Frees req's response buffer (the rest of req is the caller's). */
void pb_http_req_free(struct pb_http_req *req);

/* ===================================================================== */
/* llm.c: chat request bodies and answers (OpenAI, Anthropic)            */
/* ===================================================================== */

/* The request shapes: OpenAI's chat completions (also vLLM, llama.cpp,
 * Ollama's /v1 and the like), Anthropic's Messages API, and Azure
 * OpenAI (OpenAI's bodies at a deployment's URL, the key in api-key). */
enum pb_llm_api { PB_API_OPENAI, PB_API_ANTHROPIC, PB_API_AZURE };

/* "openai", "anthropic" or "azure". */
const char *pb_llm_api_name(enum pb_llm_api api);

/* max_tokens sent to Anthropic, which requires one, when none is given. */
#define PB_LLM_ANTHROPIC_MAX_TOKENS 1024

/* What pb-query sends besides the messages.  The temperature is always
 * sent, so a server's own default never decides it. */
struct pb_llm_params {
	enum pb_llm_api api;
	const char *model;
	double temperature;
	long max_tokens;      /* 0: not sent (Anthropic: the default above) */
	long max_completion_tokens; /* OpenAI's newer name; 0: not sent.
	                       * Anthropic sends it as max_tokens. */
	double top_p;         /* sent only if has_top_p */
	int has_top_p;
	long seed;            /* sent only if has_seed */
	int has_seed;
	const char *const *stop; /* NULL-terminated stop strings, or NULL:
	                       * "stop" (OpenAI), "stop_sequences" (Anthropic) */
	const cJSON *extra;   /* an object whose members are put into every
	                       * body last, replacing any; or NULL */
	int stream;           /* ask for server-sent events (pb_llm_stream_fields) */
};

/* The path after an OpenAI base URL, or an Anthropic base ending in /v1:
 * "/chat/completions" or "/messages". */
const char *pb_llm_path(enum pb_llm_api api);

/* Checks that rec has a "messages" array fit to send: not empty, every
 * element an object with a string "role" and a "content" that is a
 * string, an array (parts) or null.  Returns 0, or -1 with err set ("no
 * messages", or which element is wrong). */
int pb_llm_check(const cJSON *rec, char err[PB_ERRLEN]);

/* Builds the request body for rec's messages (checked first with
 * pb_llm_check): model, messages, temperature, then what p asks for,
 * then p->extra.  For Anthropic the system messages are taken out of
 * the messages into the top-level "system" field (strings joined by a
 * blank line).  The tree refers to rec's messages rather than copying
 * them: free it (cJSON_Delete) before rec, and cJSON_Duplicate it to
 * keep it longer.  Returns NULL only when out of memory. */
cJSON *pb_llm_body(const cJSON *rec, const struct pb_llm_params *p);

/* pb_llm_body printed compactly: a malloc'd NUL-terminated string (free
 * it with free()), its length through *len if len is not NULL; NULL only
 * when out of memory. */
char *pb_llm_request(const cJSON *rec, const struct pb_llm_params *p,
                     size_t *len);

/* A rough count of rec's prompt tokens, for rate limits and dry runs:
 * the characters of the message contents (text parts too) over 4,
 * rounded up. */
long pb_llm_estimate(const cJSON *rec);

/* Parses a successful (2xx) body of the given API into the object
 * pb-query stores as "response": {"text","model","finish_reason",
 * ["system_fingerprint",] "usage":{"prompt_tokens","completion_tokens",
 * "total_tokens"} or null, "latency_ms"}.  For Anthropic, text is the
 * text blocks joined, finish_reason its stop_reason, and prompt_tokens
 * input_tokens plus any prompt-cache tokens.  model falls back to
 * fallback_model when the body has none.  A body that is not a JSON
 * object, is an error, or has no choices or no content, is a failure:
 * returns NULL with err set (with a short snippet of the body); never a
 * made-up answer. */
cJSON *pb_llm_response(enum pb_llm_api api, const char *body, size_t len,
                       double latency_ms, const char *fallback_model,
                       char err[PB_ERRLEN]);

/* Builds the object pb-query stores as "error": {"kind","status","type",
 * ["code",] "message"}.  kind is "http", "connect", "timeout", "tls"
 * (certificate or handshake: never retried), "size" (the body was over
 * the cap), "parse", "input" or "interrupted"; status 0 when there was
 * no response.  When body (may be NULL)
 * is an error in a known shape (OpenAI {"error":{"message","type","code"}},
 * vLLM {"object":"error","message","type"}, Anthropic {"type":"error",
 * "error":{"type","message"}}, or {"error":"text"}, {"detail":"text"}),
 * type, code and message come from it (code only when a string other
 * than the type); otherwise message is detail if given, else a short
 * snippet of the body; type is null when unknown.  Returns NULL only
 * when out of memory. */
cJSON *pb_llm_error(const char *kind, long status, const char *body,
                    size_t len, const char *detail);

/* One line describing an error object for stderr, e.g. "HTTP 500: boom"
 * or "connect: Could not connect to server", with control characters
 * replaced by spaces. */
void pb_llm_error_line(const cJSON *error, char out[PB_ERRLEN]);

/* ===================================================================== */
/* stream.c: answers streamed as server-sent events                      */
/* ===================================================================== */

/* Puts "stream": true into body, and for OpenAI's shape also
 * "stream_options": {"include_usage": true}.  Returns 0, or -1 if out of
 * memory. */
int pb_llm_stream_fields(cJSON *body, enum pb_llm_api api);

/* The server-sent events of a streamed answer (len bytes at body) made
 * into the body the API would have sent whole, for pb_llm_response:
 * OpenAI's chunks' delta.content joined, the last finish_reason, the
 * usage chunk, model, id and system_fingerprint; Anthropic's
 * message_start (model, id, input usage), text blocks and text_delta
 * events joined, message_delta (stop_reason, stop_sequence, output
 * tokens).  A stream is whole with [DONE] or a finish_reason (OpenAI),
 * message_stop (Anthropic).  Returns a malloc'd JSON text, or NULL with
 * err set: an error event ("error in the stream: ..."), an event that is
 * not JSON, a stream cut short, or out of memory. */
char *pb_llm_stream_assemble(enum pb_llm_api api, const char *body, size_t len,
                             char err[PB_ERRLEN]);

/* ===================================================================== */
/* endpoint.c: the URL, header lines, the API key                        */
/* ===================================================================== */

#define PB_OPENAI_URL "https://api.openai.com/v1"
#define PB_ANTHROPIC_URL "https://api.anthropic.com/v1"
#define PB_AZURE_API_VERSION "2024-10-21"

/* The URL requests go to.  base NULL: $OPENAI_BASE_URL, $ANTHROPIC_BASE_URL
 * or $AZURE_OPENAI_ENDPOINT by api (set but empty counts as unset), else
 * the provider's own (Azure has none: an error).  base "" is an error,
 * never the default.  The base must be http:// or https:// with a host,
 * no user:password@, no #fragment, no space or control character.  Its
 * path (trailing slashes dropped) is joined with the API's path before
 * its query, which is kept: OpenAI: /chat/completions; Anthropic: a path
 * ending in /v1 gets /messages, any other /v1/messages (as Anthropic's
 * SDK joins ANTHROPIC_BASE_URL); Azure: a path with /deployments/ in it
 * or ending in /openai/v1 gets /chat/completions, any other
 * /openai/deployments/MODEL/chat/completions, and a deployment URL whose
 * query has no api-version gets $OPENAI_API_VERSION, else
 * PB_AZURE_API_VERSION.  Returns a malloc'd string, or NULL with err set
 * (a message that never quotes a password). */
char *pb_llm_endpoint(const char *base, enum pb_llm_api api, const char *model,
                      char err[PB_ERRLEN]);

#define PB_ANTHROPIC_VERSION "2023-06-01"

/* ===================================================================== */
/* retry.c: which failed requests to try again, and when                 */
/* ===================================================================== */

/* How pb-query retries.  The wait before try n+1 (n >= 1 tries made) is
 * what the server asked for (retry-after-ms, else Retry-After) if it
 * asked, else "full jitter": uniform in [0, min(cap, base * 2^(n-1))). */
struct pb_retry_policy {
	int retries;        /* tries after the first, at most */
	double base_s;      /* backoff base (PB_RETRY_BASE) */
	double cap_s;       /* backoff cap (PB_RETRY_CAP) */
	double max_wait_s;  /* a server asking more than this is not waited for */
};

#define PB_RETRY_BASE 0.5
#define PB_RETRY_CAP 30.0

/* What one try came to, as far as retrying cares. */
struct pb_retry_in {
	enum pb_http_result result;
	long status;          /* HTTP status; 0 without a response */
	int malformed;        /* a 2xx whose body was not JSON at all */
	const char *type;     /* the provider's error type, code, or NULL */
	const char *code;
	double retry_after;   /* seconds the server asked for, or -1 */
	int should_retry;     /* x-should-retry: 1, 0, or -1 when absent */
	int tries;            /* tries made so far, counting this one (>= 1) */
};

enum pb_retry {
	PB_RETRY_NO,       /* final: success, or a failure that cannot succeed */
	PB_RETRY_YES,      /* try again after *wait seconds */
	PB_RETRY_EXHAUSTED,/* would be retried, but the tries are used up */
	PB_RETRY_TOO_LONG  /* the server asks to wait more than max_wait_s
	                    * (*wait says how long) */
};

/* Says whether a try that failed should be made again, and the wait.
 * Retried: no response (connection errors, timeouts, stalls), HTTP 408,
 * 409, 425, 429, 500, 502, 503, 504 and 529, and a 2xx body that is not
 * JSON; x-should-retry: true retries any other status and false forbids
 * a retry.  Never retried, whatever the headers: quota and spend limits
 * (type or code insufficient_quota, enforced_spend_limit_reached,
 * billing_hard_limit_reached), 400, 401, 403, 404, 422, 501, and an
 * error whose type or code says "unsupported".  u is a uniform random
 * number in [0,1) for the jitter.  A success gives PB_RETRY_NO. */
enum pb_retry pb_retry_decide(const struct pb_retry_policy *p,
                              const struct pb_retry_in *in, double u,
                              double *wait);

/* The backoff wait after `tries` tries, for jitter u in [0,1). */
double pb_retry_backoff(const struct pb_retry_policy *p, int tries, double u);

/* Whether status/type/code mean the provider is overloaded or limiting
 * the rate (429 other than a quota, 529, overloaded_error): the signal
 * for the whole client to slow down. */
int pb_retry_overloaded(long status, const char *type, const char *code);

/* ===================================================================== */
/* ratelimit.c: request and token buckets, and the slow-down on a 429    */
/* ===================================================================== */

/* One token bucket: fills at rate per second up to cap; a take may
 * leave it negative (a debt paid back by waiting), so a cost larger than
 * the whole bucket still passes once the bucket is full. */
struct pb_bucket {
	double rate, cap, level, t;
};

/* The limiter pb-query asks before each request it sends.  Times are
 * seconds on any monotonic clock.  Slow-down: on an overload signal the
 * client stops sending until the server's deadline, then runs at half
 * the concurrency and half the rate; each success gives back 1/c of a
 * slot (one slot per round of c requests: additive increase) and 1/16
 * of full rate per round.  Only one cut per round: an overload reported
 * for a request sent before the last cut does not cut again. */
struct pb_limiter {
	struct pb_bucket rpm, tpm; /* rate 0: no limit */
	int max;              /* the concurrency asked for (-j) */
	double conc;          /* current concurrency limit, 1..max */
	double factor;        /* current share of the rates, 1/64..1 */
	double pause_until;   /* nothing is sent before this */
	double last_cut;      /* when the last cut was made */
	long cuts;            /* cuts made (for tests and progress) */
};

/* rpm, tpm: requests and tokens per minute; 0 for no limit.  Each
 * bucket holds a second's worth (at least one request). */
void pb_limiter_init(struct pb_limiter *l, int max, double rpm, double tpm,
                     double now);

/* The requests that may be in flight now: the concurrency limit. */
int pb_limiter_slots(const struct pb_limiter *l);

/* Seconds until a request estimated at tokens may be sent: 0 if now. */
double pb_limiter_wait(struct pb_limiter *l, double tokens, double now);

/* Counts a request sent now, estimated at tokens. */
void pb_limiter_take(struct pb_limiter *l, double tokens, double now);

/* Corrects the token bucket once a request's real usage is known. */
void pb_limiter_usage(struct pb_limiter *l, double estimated, double actual);

/* An overload reported for a request sent at sent_at: pause until
 * now + wait, and cut (once per round; see above). */
void pb_limiter_overload(struct pb_limiter *l, double sent_at, double now,
                         double wait);

/* A success: the additive increase. */
void pb_limiter_success(struct pb_limiter *l);

/* The server's rate-limit headers say its budget is spent until then:
 * nothing is sent before it (no cut: this is pacing, not overload). */
void pb_limiter_hold(struct pb_limiter *l, double until);

/* ===================================================================== */
/* cache.c: the response cache (pb-query), one JSON file per request     */
/* ===================================================================== */

/* Layout: DIR/ab/abcdef....json, where abcdef... is the key and ab its
 * first two hex digits.  Each file is one JSON object
 *   {"format":"pb-cache-1","key":KEY,"created":UNIX-TIME,
 *    "sha256":HEX,"response":VALUE}
 * where sha256 is the hash of VALUE's canonical text (pb_json_canonical).
 * Entries are written to a temp file beside their place and renamed over
 * it, so a reader sees a whole old entry or a whole new one; on reading,
 * an entry is believed only if it parses and its format, key and
 * checksum agree, so a damaged entry is a miss, never a wrong answer.
 * Folders the cache makes are 0700 and entries 0600, whatever the umask.
 * A struct pb_cache is read-only once open: threads may share it. */
#define PB_CACHE_FORMAT "pb-cache-1"

struct pb_cache;

/* The default folder: $XDG_CACHE_HOME/promptbandit if that is set to an
 * absolute path, else $HOME/.cache/promptbandit.  Returns a malloc'd
 * path, or NULL with err set when neither is usable. */
char *pb_cache_default_dir(char err[PB_ERRLEN]);

/* Opens the cache in dir, making it (and missing parents) with mode 0700
 * if need be.  An existing folder keeps its mode.  Returns NULL with err
 * set if dir cannot be made or is not a folder.  Close with
 * pb_cache_close (NULL is fine). */
struct pb_cache *pb_cache_open(const char *dir, char err[PB_ERRLEN]);
void pb_cache_close(struct pb_cache *c);

/* The folder as given to pb_cache_open (trailing slashes dropped); owned
 * by c. */
const char *pb_cache_dir(const struct pb_cache *c);

/* The key of one request: 64 hex digits of SHA-256 over, in turn, the
 * format tag "pb-cache-1", endpoint (the full URL posted to), api
 * ("openai" or "anthropic"), the canonical text of body (the request
 * body as sent; pb_json_canonical) and sample written in decimal, each
 * preceded by its length as 8 big-endian bytes, so no two different
 * inputs run together into the same bytes.  sample tells apart draws
 * that are meant to differ: pass 0 at temperature 0, else the record's
 * pull id (or "sample" field).  run, when not NULL, follows as a sixth
 * field: the record's run id at temperature > 0, so a new run of the
 * same pulls draws anew while a rerun of the same run is served from the
 * cache (NULL adds nothing: keys made without it stay as they were).
 * The API key is not an input and must
 * never be put into endpoint or body: entries are shared by whoever can
 * read the folder, and keys name files.  NULL endpoint or api count as
 * "", NULL body as null.  Never fails and never allocates. */
void pb_cache_key(const char *endpoint, const char *api, const cJSON *body,
                  long sample, const char *run, char key[65]);

/* Looks key up.  Returns 1 with a malloc'd copy of the stored value (the
 * value's compact JSON text; free with free()) in *value, 0 on a miss,
 * or -1 with err set on a real error (a bad key, a folder that cannot
 * be read, out of memory).  *value is NULL unless 1 is returned.  An
 * entry that is truncated, not JSON, or disagrees in format tag, key or
 * checksum counts as a miss and is left for the next put to replace (not
 * removed: a concurrent put may have just renamed a good entry there). */
int pb_cache_get(struct pb_cache *c, const char *key, char **value,
                 char err[PB_ERRLEN]);

/* Stores value, a JSON text (the provider's successful response: callers
 * store successes only), under key, replacing any entry there.  Fails
 * with err set on a bad key, a value that is not JSON, or an I/O error;
 * the cache is then as it was (a failure leaves no temp file behind).
 * Several processes may put and get the same key at once: each put
 * renames a whole entry into place atomically and the last one wins. */
int pb_cache_put(struct pb_cache *c, const char *key, const char *value,
                 char err[PB_ERRLEN]);

/* ===================================================================== */
/* query.c: the pb-query engine                                          */
/* ===================================================================== */

/* The engine takes records one at a time, sends each record's messages
 * through a pb_http client of its own (at most http.parallel at once),
 * retries what pb_retry_decide says, keeps to the limiter (--rpm, --tpm,
 * the slow-down on a 429), answers from and fills the cache, and hands
 * each record back through out with "response" (or "request" for a dry
 * run) or "error" added and any old ones removed.  It never prints:
 * a record that fails gets its "error" object, is counted, and is
 * described in one line through warn as it fails; a system error
 * (libcurl, out of memory, out failing) stops the engine, and every call
 * from then on returns -1 with err set.  One thread drives it:
 *
 *   while records: while pb_query_room: pb_query_add
 *                  pb_query_send; pb_query_poll (waiting until next)
 *   until pb_query_idle
 *
 * Times are seconds on CLOCK_MONOTONIC. */
struct pb_query;

/* A finished record, in input order (unless unordered: as it finishes).
 * rec is lent for the call; the engine frees it afterwards.  Return 0,
 * or -1 with err set to stop the engine with that message. */
typedef int (*pb_query_out_fn)(const cJSON *rec, void *arg, char err[PB_ERRLEN]);

/* A message for a person, without the tool's name or a newline: a
 * record's failure ("FILE:LINE: ...", "pull N: HTTP 500: ... (after
 * retries)"), or the first cache error ("cache: ... (going on without
 * it)").  msg lives only for the call. */
typedef void (*pb_query_warn_fn)(const char *msg, void *arg);

/* Everything is copied except what is marked borrowed, which must outlive
 * the engine. */
struct pb_query_opts {
	struct pb_http_opts http;  /* http.parallel: requests in flight, and
	                            * the record window is 4 times that */
	struct pb_llm_params par;  /* its strings, stop and extra borrowed */
	const char *url;           /* the endpoint posted to; borrowed */
	const char *secret;        /* the API key, or NULL: replaced by
	                            * "[redacted]" wherever a response or error
	                            * carries it back, in the raw body and in
	                            * every JSON string as decoded (so escaped
	                            * forms too), before the cache or the
	                            * record sees it; borrowed */
	const char *const *secrets; /* more of them (secret headers' values),
	                            * NULL-terminated, or NULL; borrowed */
	struct pb_cache *cache;    /* NULL: none; borrowed (caller closes) */
	struct pb_retry_policy retry;
	double rpm, tpm;           /* 0: no limit */
	int ordered;               /* hand records back in input order */
	int dry_run;               /* add "request", send nothing */
	int refresh;               /* ask even on a cache hit, and replace it */
	uint64_t seed;             /* for the backoff jitter */
	pb_query_out_fn out;       /* required */
	pb_query_warn_fn warn;     /* NULL: messages are dropped */
	void *arg;                 /* passed to out and warn */
};

/* What the engine has done so far, for a progress display and the exit
 * status. */
struct pb_query_counts {
	long done;        /* records handed to out */
	long requests;    /* tries sent */
	long retries;     /* tries put off to be made again */
	long failed;      /* records handed on with an "error" */
	long hits;        /* answers taken from the cache */
	long interrupted; /* records failed with kind "interrupted" (also
	                   * counted in failed) */
	long paced;       /* pauses made for the rate-limit headers */
	double tokens;    /* usage.total_tokens of the answers, cached too */
	int in_flight;    /* requests in flight now */
};

/* Returns NULL with err set if libcurl cannot start (pb_http_new: call
 * it before starting threads) or out of memory. */
struct pb_query *pb_query_new(const struct pb_query_opts *o, char err[PB_ERRLEN]);

/* Frees the engine, its client and any records it still holds (their
 * out never runs).  NULL is fine. */
void pb_query_free(struct pb_query *q);

/* Records pb_query_add takes now: the free places in the window. */
size_t pb_query_room(const struct pb_query *q);

/* Whether the engine holds no record: everything added was handed back. */
int pb_query_idle(const struct pb_query *q);

/* Takes rec (always, even on failure) from file:line (file borrowed until
 * the record is handed back; used in messages).  A bad record, a dry run
 * or a cache hit is handed back at once (out may run within this call,
 * for it and for records held back for order); otherwise it waits to be
 * sent.  Needs room.  Returns 0, or -1 with err set. */
int pb_query_add(struct pb_query *q, cJSON *rec, const char *file, long line,
                 char err[PB_ERRLEN]);

/* Sends what the free slots, the slow-down and the buckets allow: due
 * retries first, then records in the order added.  Sets *next to when
 * something may next be sent (or a retry falls due), HUGE_VAL if only a
 * finished request can free the way.  Returns 0, or -1 with err set. */
int pb_query_send(struct pb_query *q, double now, double *next,
                  char err[PB_ERRLEN]);

/* Moves the transfers (pb_http_poll: waits up to timeout_ms if nothing
 * finished) and settles each finished try: handed back, failed, or put
 * off for a retry.  Returns the number of tries finished, or -1 with err
 * set. */
int pb_query_poll(struct pb_query *q, int timeout_ms, char err[PB_ERRLEN]);

/* Stops asking: requests in flight are abandoned, and every record held
 * (in flight, waiting for a retry or for its turn) is handed back at
 * once, in order, with the error {"kind":"interrupted"}; records added
 * from now on get the same at once, and nothing more is sent.  Those
 * records are counted in interrupted (and failed) but not told through
 * warn, line by line.  Returns 0, or -1 with err set. */
int pb_query_interrupt(struct pb_query *q, char err[PB_ERRLEN]);

/* Makes a waiting pb_query_poll return at once; the only function here
 * another thread may call. */
void pb_query_wakeup(struct pb_query *q);

void pb_query_counts(const struct pb_query *q, struct pb_query_counts *c);

/* ===================================================================== */
/* client.c: one model client set-up (pb-query, the judge of pb-score)   */
/* ===================================================================== */

/* The connection part of a client: the extra header lines and the
 * secrets among them, where the CA certificates come from, and the URL.
 * pb_client fills it in (its functions are in internal.h). */
struct pb_llm_conn {
	char **headers;      /* NULL-terminated "Name: value" lines, or NULL */
	size_t nheaders;
	char **secrets;      /* values to redact (pb_query_opts.secrets) */
	size_t nsecrets;
	const char *cacert;  /* --cacert, else $CURL_CA_BUNDLE, $SSL_CERT_FILE */
	const char *capath;  /* --capath, else $SSL_CERT_DIR */
	char *url;           /* pb_llm_endpoint's, once set up */
	char *model;         /* Azure's deployment read from the URL, if used */
};

/* The user's choices for a model client, as pb-query's options give them
 * and the judge's (--judge-api, --judge-model...): pb_client_init sets the
 * defaults, the tool's getopt fills in the rest (pb_client_option for the
 * options both tools share), pb_client_check refuses the pairs that go
 * alone, and pb_client_setup makes the client: model, URL, key, headers
 * and cache, written into a struct pb_query_opts.  The strings set are
 * borrowed (argv's), and must outlive the client. */
#define PB_CLIENT_MAX_RESPONSE (16L << 20)

struct pb_client {
	const char *prefix;     /* in messages, before an option's name: ""
	                         * for pb-query's (--api), "judge-" for the
	                         * judge's (--judge-api) */
	const char *default_model; /* OpenAI's model when none is given */
	enum pb_llm_api api;
	const char *model;      /* NULL: $PB_MODEL, else the default */
	const char *base;       /* the base URL, or NULL: the environment's */
	const char *keyenv, *keyfile;
	const char *cachedir;   /* NULL: the default folder */
	int nocache;
	int dry_run;            /* no key is read, no cache opened */
	long jobs;              /* requests in flight (default 8) */
	double timeout, connect_timeout, stall; /* seconds (300, 10, 0) */
	long max_response;      /* bytes (PB_CLIENT_MAX_RESPONSE) */
	double rpm, tpm;        /* 0: no limit */
	struct pb_retry_policy retry; /* 5 retries, waits up to 120 s */
	struct pb_llm_conn conn; /* header lines, CA files, then the URL */
	/* made by pb_client_setup; freed by pb_client_free */
	char *key;
	const char **headers;
	char *auth;
	struct pb_cache *cache;
};

/* The options pb_client_option reads (a tool maps its own onto them). */
enum pb_client_opt {
	PB_CLIENT_API = 1000, PB_CLIENT_MODEL, PB_CLIENT_URL, PB_CLIENT_KEY_ENV,
	PB_CLIENT_KEY_FILE, PB_CLIENT_HEADER, PB_CLIENT_HEADER_FILE,
	PB_CLIENT_CACERT, PB_CLIENT_CAPATH, PB_CLIENT_CACHE, PB_CLIENT_NO_CACHE
};

/* prefix and default_model are borrowed. */
void pb_client_init(struct pb_client *c, const char *prefix,
                    const char *default_model);

/* Takes one option's argument (NULL for PB_CLIENT_NO_CACHE).  Returns 0,
 * or -1 with err set, the option named ("--judge-header: ..."). */
int pb_client_option(struct pb_client *c, enum pb_client_opt opt,
                     const char *arg, char err[PB_ERRLEN]);

/* Refuses a key file with a key variable, and a cache folder with none:
 * 0, or -1 with err set. */
int pb_client_check(const struct pb_client *c, char err[PB_ERRLEN]);

/* Makes the client: the model (as given, else $PB_MODEL, else the
 * default for OpenAI; an error for Anthropic; Azure's deployment in the
 * URL), the URL and CA files (pb_llm_conn_setup), the API key
 * (pb_llm_key, unless a dry run), the headers (pb_llm_headers) and the
 * cache (pb_cache_choose, unless a dry run or nocache), and writes them
 * into qo's par.api, par.model, http (but its user agent), url, secret,
 * secrets, cache, retry, rpm, tpm and seed; qo's other fields are left
 * as they are.  With a prefix every message names its option
 * ("--judge-url: ...", "--judge-key-env: ..."); without, the URL's names
 * none and the key's only --key-env, as pb-query has always said.
 * Returns 0, with a warning in warn or warn "" (the cache's: "cache: ...
 * (going on without it)"), or -1 with err set. */
int pb_client_setup(struct pb_client *c, struct pb_query_opts *qo,
                    char warn[PB_ERRLEN], char err[PB_ERRLEN]);

/* Once the engine has made its HTTP client (which copies the headers):
 * wipes and frees the key's header line and the header list. */
void pb_client_started(struct pb_client *c);

/* Frees what setup made (wiping the key), the cache and the conn. */
void pb_client_free(struct pb_client *c);

#endif
