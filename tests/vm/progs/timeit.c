// SPDX-License-Identifier: MIT
/*
 * ublk-timeit CMD [ARG...]: run CMD, print the wall time it took in
 * microseconds on stderr; exit with CMD's status. Benchmarks time `add`
 * with it (busybox's date has no sub-second clock).
 */
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	int status;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: ublk-timeit CMD [ARG...]\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		perror(argv[1]);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0) {
		perror("ublk-timeit");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "timeit: %ld us\n", (long)((t1.tv_sec - t0.tv_sec) * 1000000L +
						 (t1.tv_nsec - t0.tv_nsec) / 1000));
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
