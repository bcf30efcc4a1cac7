/* Unit tests for lib/http.c: the client against a tiny HTTP server this
 * test forks on 127.0.0.1 (a free port the kernel picks; never the
 * network).  The server answers by path: /ok, /busy (429 with
 * Retry-After), /busy-ms (retry-after-ms beside Retry-After), /date
 * (Retry-After as an HTTP date), /slow (waits 5 s: the timeout), /stall
 * (headers, then nothing), /big (a body over the size limit), /echo
 * (the request back), /sse (an event stream), /again (a status line of
 * 100 Continue before the real one's headers). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../lib/pb.h"
#include "tap.h"

/* ---- the server ----------------------------------------------------- */

static void
say(int fd, const char *s)
{
	size_t n = strlen(s);
	ssize_t w;

	while (n > 0 && (w = write(fd, s, n)) > 0) {
		s += w;
		n -= (size_t)w;
	}
}

/* Reads one request (headers and a Content-Length body) into buf. */
static size_t
read_request(int fd, char *buf, size_t cap)
{
	size_t len = 0, need = 0;
	const char *end, *cl;
	ssize_t n;

	while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) > 0) {
		len += (size_t)n;
		buf[len] = '\0';
		if (!(end = strstr(buf, "\r\n\r\n")))
			continue;
		if (!need) {
			cl = strstr(buf, "Content-Length:"); /* as libcurl writes it */
			need = (size_t)(end + 4 - buf) + (cl && cl < end ? strtoul(cl + 15, NULL, 10) : 0);
		}
		if (len >= need)
			break;
	}
	buf[len] = '\0';
	return len;
}

static void
respond(int fd, const char *path, const char *req, size_t reqlen)
{
	char head[512], date[64];
	time_t later = time(NULL) + 60;
	size_t i;

	if (!strncmp(path, "/ok", 3)) {
		say(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
		        "x-ratelimit-remaining-requests: 7\r\n"
		        "x-ratelimit-remaining-tokens: 900\r\n"
		        "Content-Length: 11\r\nConnection: close\r\n\r\n{\"ok\":true}");
	} else if (!strncmp(path, "/busy-ms", 8)) {
		say(fd, "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 9\r\n"
		        "retry-after-ms: 1500\r\nContent-Length: 2\r\n"
		        "Connection: close\r\n\r\n{}");
	} else if (!strncmp(path, "/busy", 5)) {
		say(fd, "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\n"
		        "x-should-retry: false\r\nContent-Type: application/json\r\n"
		        "Content-Length: 26\r\nConnection: close\r\n\r\n"
		        "{\"error\":{\"type\":\"rate\"}}\n");
	} else if (!strncmp(path, "/date", 5)) {
		strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", gmtime(&later));
		snprintf(head, sizeof head, "HTTP/1.1 503 Service Unavailable\r\n"
		         "Retry-After: %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
		         date);
		say(fd, head);
	} else if (!strncmp(path, "/slow", 5)) {
		sleep(5);
		say(fd, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
	} else if (!strncmp(path, "/stall", 6)) {
		say(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"par");
		sleep(5);
	} else if (!strncmp(path, "/big", 4)) {
		say(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n"
		        "Connection: close\r\n\r\n");
		for (i = 0; i < 100; i++) {
			char block[1001];
			memset(block, 'x', 1000);
			block[1000] = '\0';
			say(fd, block);
		}
	} else if (!strncmp(path, "/echo", 5)) {
		snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n"
		         "Connection: close\r\n\r\n", reqlen);
		say(fd, head);
		say(fd, req);
	} else if (!strncmp(path, "/sse", 4)) {
		say(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
		        "Content-Length: 14\r\nConnection: close\r\n\r\ndata: [DONE]\n\n");
	} else if (!strncmp(path, "/again", 6)) {
		say(fd, "HTTP/1.1 100 Continue\r\nRetry-After: 8\r\n\r\n"
		        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
	} else {
		say(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
		        "Connection: close\r\n\r\n");
	}
}

/* Serves each connection in a process of its own, so a slow answer does
 * not hold up the others; never returns. */
static _Noreturn void
serve(int lfd)
{
	static char req[65536];
	char path[256];
	size_t len;
	int fd;

	/* Off the TAP stream: a handler still asleep when the test ends must
	 * not keep prove waiting for the end of its output (or stderr). */
	if ((fd = open("/dev/null", O_WRONLY)) >= 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		if ((fd = accept(lfd, NULL, NULL)) < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		if (fork() == 0) {
			alarm(20);
			len = read_request(fd, req, sizeof req);
			if (sscanf(req, "%*s %255s", path) != 1)
				strcpy(path, "/");
			respond(fd, path, req, len);
			shutdown(fd, SHUT_WR);
			_exit(0);
		}
		close(fd);
	}
}

/* A socket bound to a free port of 127.0.0.1; *port receives it. */
static int
bound(int *port)
{
	struct sockaddr_in a = { 0 };
	socklen_t n = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &n) < 0) {
		printf("Bail out! cannot bind 127.0.0.1: %s\n", strerror(errno));
		exit(2);
	}
	*port = ntohs(a.sin_port);
	return fd;
}

/* ---- the client's side ---------------------------------------------- */

static int port;
static char url[128];

static const char *
at(const char *path)
{
	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
	return url;
}

static void
done_cb(struct pb_http_req *r, void *arg)
{
	(void)r;
	++*(int *)arg;
}

/* Submits r and polls until it is done (at most 20 s: a hang is a
 * failure, not a wait for ever).  Returns 0, or -1 if it never ended. */
static int
run1(struct pb_http *h, struct pb_http_req *r)
{
	char err[PB_ERRLEN];
	int done = 0, i;

	if (pb_http_submit(h, r, err) < 0) {
		printf("# submit: %s\n", err);
		return -1;
	}
	for (i = 0; i < 200 && !done; i++)
		if (pb_http_poll(h, 100, done_cb, &done, err) < 0) {
			printf("# poll: %s\n", err);
			return -1;
		}
	return done ? 0 : -1;
}

static struct pb_http *
client(long timeout_ms, long stall_ms, size_t max_response, int parallel,
       const char *const *headers)
{
	struct pb_http_opts o = { 0 };
	char err[PB_ERRLEN];
	struct pb_http *h;

	o.parallel = parallel;
	o.timeout_ms = timeout_ms;
	o.connect_timeout_ms = 2000;
	o.stall_ms = stall_ms;
	o.max_response = max_response;
	o.headers = headers;
	if (!(h = pb_http_new(&o, err))) {
		printf("Bail out! pb_http_new: %s\n", err);
		exit(2);
	}
	return h;
}

static void
test_success(void)
{
	int ran;
	static const char *const hdr[] = { "X-Test: yes", NULL };
	struct pb_http *h = client(10000, 0, 0, 2, hdr);
	struct pb_http_req r = { 0 };

	r.url = at("/ok");
	ran = run1(h, &r);
	ok(ran == 0, "a GET to /ok ends");
	ok(r.result == PB_HTTP_DONE && r.status == 200, "with HTTP 200 (result %d, status %ld)",
	   r.result, r.status);
	is_str(r.resp, "{\"ok\":true}", "the body is handed back whole");
	ok(r.resp_len == 11, "its length too");
	ok(r.retry_after == -1 && r.should_retry == -1, "no Retry-After, no x-should-retry");
	ok(r.rl.req_remaining == 7 && r.rl.tok_remaining == 900,
	   "the rate-limit headers are read (%g requests, %g tokens left)",
	   r.rl.req_remaining, r.rl.tok_remaining);
	ok(!r.event_stream, "a JSON answer is not an event stream");
	ok(r.latency_ms >= 0 && r.latency_ms < 10000, "the latency is measured (%.1f ms)",
	   r.latency_ms);

	r.url = at("/echo");
	r.body = "{\"q\":1}";
	r.body_len = 7;
	r.attempt = 1;
	ran = run1(h, &r);
	ok(ran == 0 && r.status == 200, "the same request submitted again (a POST)");
	ok(r.resp && strstr(r.resp, "POST /echo HTTP/1.1") != NULL, "goes as a POST");
	ok(r.resp && strstr(r.resp, "\r\n\r\n{\"q\":1}") != NULL, "with its body");
	ok(r.resp && strstr(r.resp, "X-Test: yes\r\n") != NULL, "and the client's headers");
	ok(r.resp && strstr(r.resp, "User-Agent: promptbandit/" PB_VERSION) != NULL,
	   "and the default user agent");
	ok(r.rl.req_remaining == -1, "the response fields are reset by the new submit");

	r.url = at("/sse");
	r.body = NULL;
	ran = run1(h, &r);
	ok(ran == 0 && r.event_stream, "Content-Type: text/event-stream is seen");
	r.url = at("/nothing");
	ran = run1(h, &r);
	ok(ran == 0 && r.result == PB_HTTP_DONE && r.status == 404,
	   "any status is a response: 404 is PB_HTTP_DONE");
	r.url = at("/again");
	ran = run1(h, &r);
	ok(ran == 0 && r.status == 200 && r.retry_after == -1,
	   "the headers of a 100 Continue do not count for the final response");
	pb_http_req_free(&r);
	ok(!r.resp && !r.resp_len, "pb_http_req_free frees the body");
	pb_http_free(h);
}

static void
test_retry_after(void)
{
	int ran;
	struct pb_http *h = client(10000, 0, 0, 1, NULL);
	struct pb_http_req r = { 0 };

	r.url = at("/busy");
	ran = run1(h, &r);
	ok(ran == 0 && r.result == PB_HTTP_DONE && r.status == 429,
	   "a 429 is a response");
	is_num(r.retry_after, 3, 0, "Retry-After: 3 is 3 s");
	ok(r.should_retry == 0, "x-should-retry: false is read");
	ok(r.resp && strstr(r.resp, "\"rate\""), "the error body is kept");

	r.url = at("/busy-ms");
	ran = run1(h, &r);
	ok(ran == 0 && r.status == 429, "another 429");
	is_num(r.retry_after, 1.5, 1e-9, "retry-after-ms: 1500 wins over Retry-After: 9");

	r.url = at("/date");
	ran = run1(h, &r);
	ok(ran == 0 && r.status == 503, "a 503");
	ok(r.retry_after > 50 && r.retry_after <= 61,
	   "Retry-After as an HTTP date a minute on is about 60 s (%g)", r.retry_after);
	pb_http_req_free(&r);
	pb_http_free(h);
}

static void
test_failures(void)
{
	int ran;
	struct pb_http *h;
	struct pb_http_req r = { 0 };
	int closed, fd;

	h = client(300, 0, 0, 1, NULL);
	r.url = at("/slow");
	ran = run1(h, &r);
	ok(ran == 0 && r.result == PB_HTTP_TIMEOUT,
	   "a server slower than the timeout: PB_HTTP_TIMEOUT (%d)", r.result);
	ok(r.status == 0 && r.error[0], "no status, and a message (%s)", r.error);
	pb_http_free(h);

	h = client(10000, 300, 0, 1, NULL);
	r.url = at("/stall");
	ran = run1(h, &r);
	ok(ran == 0 && r.result == PB_HTTP_TIMEOUT,
	   "a body that stops moving past the stall limit: PB_HTTP_TIMEOUT");
	ok(strstr(r.error, "stalled") != NULL, "said to be a stall (%s)", r.error);
	pb_http_free(h);

	h = client(10000, 0, 1000, 1, NULL);
	r.url = at("/big");
	ran = run1(h, &r);
	ok(ran == 0 && r.result == PB_HTTP_TOO_BIG,
	   "a body over max_response: PB_HTTP_TOO_BIG (%d)", r.result);
	ok(strstr(r.error, "larger than 1000 bytes") != NULL, "the message says so (%s)",
	   r.error);
	ok(r.resp_len <= 1000, "no more than the limit is kept (%zu)", r.resp_len);
	r.url = at("/ok");
	ran = run1(h, &r);
	ok(ran == 0 && r.result == PB_HTTP_DONE && r.status == 200,
	   "the handle serves the next request after that");
	pb_http_free(h);

	/* A port bound but never listened on refuses connections. */
	fd = bound(&closed);
	h = client(10000, 0, 0, 1, NULL);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/ok", closed);
	r.url = url;
	ran = run1(h, &r);
	ok(ran == 0 && r.result == PB_HTTP_CONNECT,
	   "a refused connection: PB_HTTP_CONNECT (%d)", r.result);
	ok(r.status == 0 && r.error[0], "no status, and a message (%s)", r.error);
	close(fd);
	pb_http_req_free(&r);
	pb_http_free(h);
}

static void
test_slots(void)
{
	struct pb_http *h = client(10000, 0, 0, 2, NULL);
	struct pb_http_req a = { 0 }, b = { 0 }, c = { 0 };
	char err[PB_ERRLEN];
	double t0;
	int done = 0, i;

	char slow[128], quick[128];

	snprintf(slow, sizeof slow, "%s", at("/slow"));
	snprintf(quick, sizeof quick, "%s", at("/ok"));
	a.url = b.url = slow; /* at() reuses its buffer */
	c.url = quick;
	ok(pb_http_submit(h, &a, err) == 0 && pb_http_submit(h, &b, err) == 0,
	   "two requests go in flight with parallel 2");
	ok(pb_http_in_flight(h) == 2, "both are counted");
	i = pb_http_submit(h, &c, err);
	ok(i < 0 && err[0], "a third is refused (%s)", err);
	pb_http_cancel(h, &a);
	ok(pb_http_in_flight(h) == 1, "a cancelled request frees its slot at once");
	ok(pb_http_submit(h, &c, err) == 0, "so another may take it");
	for (i = 0; i < 200 && !done; i++)
		if (pb_http_poll(h, 100, done_cb, &done, err) < 0)
			printf("# poll: %s\n", err);
	ok(done == 1 && c.status == 200, "the quick one finishes first and alone");
	pb_http_cancel(h, &b);
	ok(pb_http_in_flight(h) == 0, "nothing is left in flight");

	pb_http_wakeup(h);
	t0 = pb_clock();
	ok(pb_http_poll(h, 5000, done_cb, &done, err) == 0 && pb_clock() - t0 < 2,
	   "pb_http_wakeup makes the next poll return at once");
	pb_http_req_free(&a);
	pb_http_req_free(&b);
	pb_http_req_free(&c);
	pb_http_free(h);
}

int
main(void)
{
	int lfd = bound(&port), status;
	pid_t pid;

	signal(SIGPIPE, SIG_IGN);
	if (listen(lfd, 16) < 0) {
		printf("Bail out! listen: %s\n", strerror(errno));
		return 2;
	}
	if ((pid = fork()) < 0) {
		printf("Bail out! fork: %s\n", strerror(errno));
		return 2;
	}
	if (pid == 0)
		serve(lfd);
	close(lfd);
	test_success();
	test_retry_after();
	test_failures();
	test_slots();
	kill(pid, SIGTERM);
	waitpid(pid, &status, 0);
	return tap_done();
}
