/* rusage.c - run a command and write its wall time, user and system CPU
 * seconds and peak resident set (KiB) to a file, for tests/bench.sh.
 * Usage: rusage OUT COMMAND [ARG...]   writes "ELAPSED USER SYS MAXRSS_KB".
 * wait4() counts the command and every descendant it waited for (curl
 * under xargs), so no GNU time package is needed.  Exits with the
 * command's status, or 128 + the signal that killed it. */
#define _DEFAULT_SOURCE
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double
secs(struct timeval tv)
{
	return tv.tv_sec + tv.tv_usec / 1e6;
}

int
main(int argc, char *argv[])
{
	struct timespec t0, t1;
	struct rusage ru;
	FILE *out;
	pid_t pid;
	int status;

	if (argc < 3) {
		fprintf(stderr, "usage: rusage OUT COMMAND [ARG...]\n");
		return 2;
	}
	if (!(out = fopen(argv[1], "w"))) {
		fprintf(stderr, "rusage: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((pid = fork()) < 0) {
		fprintf(stderr, "rusage: fork: %s\n", strerror(errno));
		return 2;
	}
	if (pid == 0) {
		fclose(out);
		execvp(argv[2], argv + 2);
		fprintf(stderr, "rusage: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR) {
			fprintf(stderr, "rusage: wait4: %s\n", strerror(errno));
			return 2;
		}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(out, "%.6f %.6f %.6f %ld\n",
	        (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
	        secs(ru.ru_utime), secs(ru.ru_stime), ru.ru_maxrss);
	if (fclose(out) == EOF) {
		fprintf(stderr, "rusage: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
