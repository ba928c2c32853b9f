/* SPDX-License-Identifier: MIT */
/*
 * Running a child for the client tests (test-preload.c, test-preload-run.c)
 * and collecting its exit status, stdout and stderr.
 *
 * Children get the test's environment without LD_PRELOAD, VFIO_CUSE_* and
 * VFC_SHIM_*, plus what the test adds. When the test itself runs under
 * valgrind, so do the children (valgrind does not follow exec by default,
 * and the preload library is what we want it to check). Under
 * AddressSanitizer, a preloaded instrumented library comes before the
 * runtime in the link order, which ASan refuses by default; the children
 * are told to accept it (verify_asan_link_order=0), which is safe here
 * because the libraries allocate nothing before main().
 */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#if defined(__SANITIZE_ADDRESS__)
#define SPAWN_ASAN 1
#else
#define SPAWN_ASAN 0
#endif

#define SPAWN_OUT_MAX 16384

struct spawn_result {
	int status;		/* exit code, or 128 + signal */
	char out[SPAWN_OUT_MAX];
	char err[SPAWN_OUT_MAX];
};

extern char **environ;

static inline bool spawn_env_dropped(const char *kv)
{
	return strncmp(kv, "LD_PRELOAD=", 11) == 0 || strncmp(kv, "VFIO_CUSE_", 10) == 0 ||
	       strncmp(kv, "VFC_SHIM_", 9) == 0 || strncmp(kv, "ASAN_OPTIONS=", 13) == 0;
}

/*
 * Later entries of @add replace earlier ones of the same name. *@owned
 * gets the one string allocated here (or NULL), for the caller to free.
 */
static inline char **spawn_env(const char *const *add, char **owned)
{
	size_t n = 0, i, j, k;
	char **env;

	while (environ[n])
		n++;
	for (k = 0; add && add[k]; k++)
		;
	env = calloc(n + k + 2, sizeof(*env));
	if (!env)
		abort();
	for (i = 0, j = 0; i < n; i++)
		if (!spawn_env_dropped(environ[i]))
			env[j++] = environ[i];
	if (SPAWN_ASAN) {
		const char *o = getenv("ASAN_OPTIONS");

		if (asprintf(owned, "ASAN_OPTIONS=%s%sverify_asan_link_order=0", o ? o : "",
			     o && *o ? ":" : "") < 0)
			abort();
		env[j++] = *owned;
	}
	for (i = 0; i < k; i++) {
		size_t len = strcspn(add[i], "=") + 1;
		size_t m;

		for (m = 0; m < j; m++)
			if (strncmp(env[m], add[i], len) == 0)
				break;
		env[m] = (char *)add[i];
		if (m == j)
			j++;
	}
	env[j] = NULL;
	return env;
}

static inline void spawn_read(int fd, char *buf)
{
	ssize_t n = pread(fd, buf, SPAWN_OUT_MAX - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	close(fd);
}

/*
 * valgrind warns on stderr about every ioctl number without direction and
 * size (all of VFIO's); such a warning is not an error of ours. Errors
 * still show, and make valgrind exit with 99.
 */
static inline void spawn_strip_valgrind(char *err)
{
	static const char *const noise[] = {
		"Warning: noted but unhandled ioctl ",
		"   This could cause spurious value errors to appear.",
		"   See README_MISSING_SYSCALL_OR_IOCTL for guidance",
	};
	char *line = err, *out = err;

	while (*line) {
		char *end = strchrnul(line, '\n'), *p = line;
		bool drop = false;

		if (p[0] == '=' && p[1] == '=') {
			p += 2 + strspn(p + 2, "0123456789");
			if (strncmp(p, "== ", 3) == 0)
				for (size_t i = 0; i < sizeof(noise) / sizeof(noise[0]); i++)
					drop |= strncmp(p + 3, noise[i], strlen(noise[i])) == 0;
		}
		if (*end)
			end++;
		if (!drop) {
			memmove(out, line, (size_t)(end - line));
			out += end - line;
		}
		line = end;
	}
	*out = '\0';
}

/**
 * spawn_run() - run @argv with @add in its environment.
 * @argv: the program (a path) and its arguments.
 * @add: "NAME=VALUE" entries, NULL-terminated; may be NULL.
 * @prep: called in the child before exec (namespaces, credentials); a
 *        failure there should print why and _exit(124).
 * @data: for @prep.
 * @r: filled with the status and the captured output.
 */
static inline void spawn_run(const char *const *argv, const char *const *add,
			     void (*prep)(void *data), void *data, struct spawn_result *r)
{
	static const char *const vg[] = {
		"valgrind", "--quiet", "--error-exitcode=99", "--leak-check=full",
		"--errors-for-leak-kinds=definite,indirect", "--track-fds=no",
	};
	const size_t nvg = sizeof(vg) / sizeof(vg[0]);
	int out = memfd_create("out", MFD_CLOEXEC), err = memfd_create("err", MFD_CLOEXEC);
	bool wrap = RUNNING_ON_VALGRIND;
	char *owned = NULL;
	char **env = spawn_env(add, &owned);
	const char **args;
	size_t n = 0, i = 0;
	pid_t pid;
	int st;

	if (out < 0 || err < 0)
		abort();
	while (argv[n])
		n++;
	args = calloc(n + nvg + 1, sizeof(*args));
	if (!args)
		abort();
	if (wrap)
		for (; i < nvg; i++)
			args[i] = vg[i];
	memcpy(args + i, argv, n * sizeof(*args));

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		abort();
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

		if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
			_exit(124);
		if (prep)
			prep(data);
		execvpe(args[0], (char **)args, env);
		fprintf(stderr, "spawn: %s: %s\n", args[0], strerror(errno));
		_exit(126);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			abort();
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	spawn_read(out, r->out);
	spawn_read(err, r->err);
	if (wrap)
		spawn_strip_valgrind(r->err);
	free(owned);
	free(args);
	free(env);
}
