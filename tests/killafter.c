/* killafter - run a command and SIGKILL it after a given number of
 * microseconds, for the crash tests (tests/0860-crash.t).
 *
 *	killafter US CMD [ARG ...]
 *	killafter -t FILE CMD [ARG ...]
 *
 * Exits with CMD's status, or 128 + the signal if it died of one (137
 * when the kill landed), as a shell would.  With -t it kills nothing and
 * writes to FILE how many microseconds CMD ran, to aim the kills.  A shell's own `sleep` is too
 * coarse (a fork and an exec, a millisecond or more) to aim inside a run
 * that lasts a few milliseconds. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct timespec ts, t0, t1;
	const char *tfile = NULL;
	long us = 0;
	pid_t pid;
	int st;
	FILE *f;

	if (argc > 3 && strcmp(argv[1], "-t") == 0) {
		tfile = argv[2];
		argv++;
		argc--;
	} else if (argc < 3 || (us = strtol(argv[1], NULL, 10)) < 0) {
		fprintf(stderr, "usage: killafter US|-t FILE CMD [ARG ...]\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((pid = fork()) < 0) {
		perror("killafter: fork");
		return 2;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "killafter: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	if (!tfile) {
		ts.tv_sec = us / 1000000;
		ts.tv_nsec = us % 1000000 * 1000;
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		kill(pid, SIGKILL); /* a no-op on a child that has exited */
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			perror("killafter: waitpid");
			return 2;
		}
	if (tfile) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (!(f = fopen(tfile, "w")) ||
		    fprintf(f, "%ld\n", (long)((t1.tv_sec - t0.tv_sec) * 1000000 +
		                               (t1.tv_nsec - t0.tv_nsec) / 1000)) < 0 ||
		    fclose(f) != 0) {
			perror(tfile);
			return 2;
		}
	}
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}
