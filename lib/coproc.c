/* coproc.c - a long-lived child process spoken to in lines: pb-score's
 * jq and external-program scorers run one for the whole input instead of
 * one process per record. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "score.h"
#include "internal.h"

#define CHUNK 65536

static int
sys_err(char err[PB_ERRLEN], const char *what)
{
	snprintf(err, PB_ERRLEN, "%s: %s", what, strerror(errno));
	return -1;
}

int
pb_coproc_start(struct pb_coproc *c, char *const argv[], char err[PB_ERRLEN])
{
	int sv[2], ep[2], e;
	ssize_t n;

	memset(c, 0, sizeof *c);
	c->fd = -1;
	c->status = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return sys_err(err, "socketpair");
	if (pipe(ep) < 0 || fcntl(ep[0], F_SETFD, FD_CLOEXEC) < 0 ||
	    fcntl(ep[1], F_SETFD, FD_CLOEXEC) < 0) {
		close(sv[0]);
		close(sv[1]);
		return sys_err(err, "pipe");
	}
	if ((c->pid = fork()) < 0) {
		e = errno;
		close(sv[0]);
		close(sv[1]);
		close(ep[0]);
		close(ep[1]);
		errno = e;
		return sys_err(err, "fork");
	}
	if (c->pid == 0) {
		/* The child: its stdin and stdout are the socket; a failed exec
		 * sends errno through the pipe, which exec would have closed. */
		signal(SIGPIPE, SIG_DFL);
		if (dup2(sv[1], 0) < 0 || dup2(sv[1], 1) < 0)
			e = errno;
		else {
			execvp(argv[0], argv);
			e = errno;
		}
		n = write(ep[1], &e, sizeof e);
		(void)n;
		_exit(127);
	}
	close(sv[1]);
	close(ep[1]);
	while ((n = read(ep[0], &e, sizeof e)) < 0 && errno == EINTR)
		;
	close(ep[0]);
	if (n == (ssize_t)sizeof e) {
		waitpid(c->pid, NULL, 0);
		c->pid = 0;
		close(sv[0]);
		snprintf(err, PB_ERRLEN, "%s: %s", argv[0], strerror(e));
		return -1;
	}
	c->fd = sv[0];
	if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) < 0) {
		pb_coproc_free(c);
		return sys_err(err, "fcntl");
	}
	return 0;
}

/* Makes room for n more bytes at the end of a buffer, first moving what
 * is still unread to its start. */
static int
reserve(char **buf, size_t *len, size_t *off, size_t *cap, size_t n)
{
	char *p;
	size_t want;

	if (*off) {
		memmove(*buf, *buf + *off, *len - *off);
		*len -= *off;
		*off = 0;
	}
	if (*len + n <= *cap)
		return 0;
	for (want = *cap ? *cap : CHUNK; want < *len + n; want *= 2)
		;
	if (!(p = realloc(*buf, want)))
		return -1;
	*buf = p;
	*cap = want;
	return 0;
}

int
pb_coproc_send(struct pb_coproc *c, const char *p, size_t n)
{
	if (c->broken || c->shut)
		return 0; /* nobody listens; the caller learns it from eof */
	if ((c->olen + n > c->ocap || c->ooff) &&
	    reserve(&c->obuf, &c->olen, &c->ooff, &c->ocap, n) < 0)
		return -1;
	memcpy(c->obuf + c->olen, p, n);
	c->olen += n;
	return 0;
}

/* Writes what is queued, as far as the socket takes it. */
static int
flush_out(struct pb_coproc *c)
{
	ssize_t n;
	int moved = 0;

	while (c->ooff < c->olen) {
		n = send(c->fd, c->obuf + c->ooff, c->olen - c->ooff, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			/* EPIPE, ECONNRESET: the child is gone or stopped reading */
			c->broken = 1;
			c->ooff = c->olen = 0;
			return 1;
		}
		c->ooff += (size_t)n;
		moved = 1;
	}
	if (c->ooff == c->olen)
		c->ooff = c->olen = 0;
	return moved;
}

/* Reads what the child has written. */
static int
fill_in(struct pb_coproc *c)
{
	ssize_t n;
	int moved = 0;

	for (;;) {
		if (c->icap - c->ilen < CHUNK / 4 &&
		    reserve(&c->ibuf, &c->ilen, &c->ioff, &c->icap, CHUNK) < 0)
			return -1;
		n = read(c->fd, c->ibuf + c->ilen, c->icap - c->ilen - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return moved;
			c->eof = 1; /* ECONNRESET: as good as an end */
			return 1;
		}
		if (n == 0) {
			c->eof = 1;
			return 1;
		}
		c->ilen += (size_t)n;
		moved = 1;
	}
}

int
pb_coproc_pump(struct pb_coproc *const *c, size_t n, int timeout_ms,
               char err[PB_ERRLEN])
{
	struct pollfd pf[8];
	size_t i, k = 0;
	int progress = 0, r;

	if (n > 8)
		n = 8;
	for (i = 0; i < n; i++) {
		pf[i].fd = -1;
		pf[i].events = 0;
		pf[i].revents = 0;
		if (c[i]->fd < 0)
			continue;
		if (!c[i]->eof)
			pf[i].events |= POLLIN;
		if (c[i]->ooff < c[i]->olen)
			pf[i].events |= POLLOUT;
		if (pf[i].events) {
			pf[i].fd = c[i]->fd;
			k++;
		}
	}
	if (!k)
		return 0;
	while ((r = poll(pf, n, timeout_ms)) < 0)
		if (errno != EINTR)
			return sys_err(err, "poll");
	for (i = 0; i < n; i++) {
		int moved = 0, m;

		if (pf[i].fd < 0 || !pf[i].revents)
			continue;
		if (pf[i].revents & (POLLOUT | POLLERR | POLLHUP))
			moved |= flush_out(c[i]);
		if (pf[i].revents & (POLLIN | POLLERR | POLLHUP)) {
			if ((m = fill_in(c[i])) < 0) {
				snprintf(err, PB_ERRLEN, "out of memory");
				return -1;
			}
			moved |= m;
		}
		if (c[i]->shut && c[i]->ooff == c[i]->olen)
			shutdown(c[i]->fd, SHUT_WR);
		progress += moved;
	}
	return progress;
}

char *
pb_coproc_line(struct pb_coproc *c, size_t *len)
{
	char *s = c->ibuf + c->ioff, *nl;

	if (c->ioff >= c->ilen)
		return NULL;
	if (!(nl = memchr(s, '\n', c->ilen - c->ioff))) {
		/* A last line without its newline, once the child is done. */
		if (!c->eof)
			return NULL;
		nl = c->ibuf + c->ilen;
	}
	*nl = '\0';
	if (len)
		*len = (size_t)(nl - s);
	c->ioff = (size_t)(nl - c->ibuf) + (nl < c->ibuf + c->ilen);
	return s;
}

void
pb_coproc_finish(struct pb_coproc *c)
{
	c->shut = 1;
	if (c->fd >= 0 && c->ooff == c->olen)
		shutdown(c->fd, SHUT_WR);
}

int
pb_coproc_wait(struct pb_coproc *c, char how[PB_ERRLEN])
{
	int st;

	if (c->pid > 0) {
		while (waitpid(c->pid, &st, 0) < 0)
			if (errno != EINTR)
				return sys_err(how, "waitpid");
		c->pid = 0;
		c->status = st;
	}
	st = c->status;
	if (WIFEXITED(st)) {
		snprintf(how, PB_ERRLEN, "exited with status %d", WEXITSTATUS(st));
		return WEXITSTATUS(st);
	}
	if (WIFSIGNALED(st)) {
		snprintf(how, PB_ERRLEN, "killed by signal %d", WTERMSIG(st));
		return 128 + WTERMSIG(st);
	}
	snprintf(how, PB_ERRLEN, "ended (status %#x)", st);
	return -1;
}

void
pb_coproc_kill(struct pb_coproc *c)
{
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		while (waitpid(c->pid, &c->status, 0) < 0 && errno == EINTR)
			;
		c->pid = 0;
	}
	pb_coproc_free(c);
}

void
pb_coproc_free(struct pb_coproc *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (c->pid > 0) {
		kill(c->pid, SIGTERM);
		while (waitpid(c->pid, &c->status, 0) < 0 && errno == EINTR)
			;
		c->pid = 0;
	}
	free(c->obuf);
	free(c->ibuf);
	c->obuf = c->ibuf = NULL;
	c->olen = c->ooff = c->ocap = c->ilen = c->ioff = c->icap = 0;
}
