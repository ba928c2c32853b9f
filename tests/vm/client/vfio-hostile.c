/* SPDX-License-Identifier: MIT */
/*
 * vfio-hostile: the attacks of the hardening issue, replayed in the VM
 * against vfio-cused (tests/vm/guest-daemon.sh, test "hostile").
 *
 *   vfio-hostile attacker DIR
 *       Opens DIR/cuse-device, then from a thread tries the old ARM ioctl
 *       (number 1: it left the file armed for the thread id) and
 *       DEVICE_OPEN naming fds it does not hold. The thread exits; the
 *       process keeps the file. Prints "tid=T arm=ERRNO open=ERRNO", then
 *       waits for SIGUSR1 and prints "after: get_info=ERRNO read=ERRNO":
 *       what the file gives once another process took the thread id.
 *   vfio-hostile as-tid T CMD...
 *       Runs CMD as process T (ns_last_pid; root): the victim.
 *   vfio-hostile stall DIR GROUP FILE THREADS
 *       Under vfio-cuse-run: names FILE (a filesystem whose FLUSH never
 *       answers) as the container of SET_CONTAINER from THREADS threads at
 *       once, then as the eventfd of SET_IRQS. Prints every errno seen
 *       and how long the calls took. Every call must end with an errno.
 *   vfio-hostile hold PATH MAX
 *       Opens PATH up to MAX times, holding every file, and prints
 *       "opened=N errno=ERRNO" (the first failure's, or 0); then waits for
 *       SIGUSR1, closes them all and prints "closed". For the per-client
 *       limits (test "limits").
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vfc-cuse-proto.h"

#define OLD_ARM _IO(VFC_CUSE_MAGIC, 1)

static const char *ename(int ret)
{
	return ret >= 0 ? "0" : strerrorname_np(errno) ?: "?";
}

struct arm_arg {
	int fd;
	pid_t tid;
	char arm[32], open[32];
};

static void *arm_thread(void *p)
{
	struct arm_arg *a = p;
#ifdef VFC_CUSE_DEVICE_OPEN
	struct vfc_cuse_device_open op = { .group_fd = 900, .device_fd = a->fd,
					   .name = (uintptr_t)"0000:06:0d.0" };
#else	/* built against the protocol before the fix, to see the test fail */
	int op = 0;
#define VFC_CUSE_DEVICE_OPEN _IO(VFC_CUSE_MAGIC, 4)
#endif

	a->tid = gettid();
	snprintf(a->arm, sizeof(a->arm), "%s", ename(ioctl(a->fd, OLD_ARM, a->fd)));
	/* fd 900 is open nowhere in this process. */
	snprintf(a->open, sizeof(a->open), "%s", ename(ioctl(a->fd, VFC_CUSE_DEVICE_OPEN, &op)));
	return NULL;
}

static volatile sig_atomic_t go;

static void on_usr1(int sig)
{
	go = 1;
}

static int attacker(const char *dir)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };
	struct arm_arg a = { 0 };
	char path[256], byte;
	pthread_t t;
	int r;

	signal(SIGUSR1, on_usr1);
	snprintf(path, sizeof(path), "%s/cuse-device", dir);
	a.fd = open(path, O_RDWR);	/* no O_CLOEXEC: no help from us either */
	if (a.fd < 0) {
		printf("open %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (pthread_create(&t, NULL, arm_thread, &a) || pthread_join(t, NULL))
		return 1;
	printf("tid=%d arm=%s open=%s\n", (int)a.tid, a.arm, a.open);
	fflush(stdout);
	while (!go)
		pause();
	r = ioctl(a.fd, VFIO_DEVICE_GET_INFO, &info);
	printf("after: get_info=%s", ename(r));
	if (r == 0)
		printf(" (flags 0x%x regions %u: ANOTHER PROCESS'S DEVICE)", info.flags,
		       info.num_regions);
	r = (int)read(a.fd, &byte, 1);
	printf(" read=%s\n", ename(r));
	return 0;
}

static int as_tid(pid_t want, char **cmd)
{
	for (int tries = 0; tries < 20; tries++) {
		FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "w");
		pid_t child;
		int st;

		if (!f || fprintf(f, "%d", (int)want - 1) < 0 || fclose(f)) {
			perror("ns_last_pid");
			return 1;
		}
		child = fork();
		if (child == 0) {
			if (getpid() != want)
				_exit(99);
			execvp(cmd[0], cmd);
			_exit(127);
		}
		if (child < 0 || waitpid(child, &st, 0) < 0)
			return 1;
		if (!(WIFEXITED(st) && WEXITSTATUS(st) == 99))
			return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
	}
	fprintf(stderr, "could not run as tid %d\n", (int)want);
	return 1;
}

struct stall {
	int group, file;
	int err;
};

static void *stall_thread(void *p)
{
	struct stall *s = p;

	s->err = ioctl(s->group, VFIO_GROUP_SET_CONTAINER, &s->file) < 0 ? errno : 0;
	return NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int stall(const char *dir, const char *group, const char *file, int n)
{
	struct stall *s = calloc((size_t)n, sizeof(*s));
	pthread_t *t = calloc((size_t)n, sizeof(*t));
	char path[256];
	int c, g, f, d, counts[256] = { 0 };
	double t0;

	snprintf(path, sizeof(path), "%s/vfio", dir);
	c = open(path, O_RDWR | O_CLOEXEC);
	snprintf(path, sizeof(path), "%s/%s", dir, group);
	g = open(path, O_RDWR | O_CLOEXEC);
	f = open(file, O_RDONLY | O_CLOEXEC);
	if (!s || !t || c < 0 || g < 0 || f < 0) {
		printf("setup: %s\n", strerror(errno));
		return 1;
	}
	t0 = now();
	for (int i = 0; i < n; i++) {
		s[i] = (struct stall){ .group = g, .file = f };
		if (pthread_create(&t[i], NULL, stall_thread, &s[i]))
			return 1;
	}
	for (int i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		counts[s[i].err & 255]++;
	}
	printf("set_container x%d: %.2f s:", n, now() - t0);
	for (int e = 0; e < 256; e++)
		if (counts[e])
			printf(" %s=%d", e ? strerrorname_np(e) : "0", counts[e]);
	printf("\n");

	/* Now a real container, and SET_IRQS naming the file as an eventfd. */
	if (ioctl(g, VFIO_GROUP_SET_CONTAINER, &c) < 0 ||
	    ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0) {
		printf("setup 2: %s\n", strerror(errno));
		return 1;
	}
	d = ioctl(g, VFIO_GROUP_GET_DEVICE_FD, "0000:06:0d.0");
	if (d < 0) {
		printf("get_device_fd: %s\n", strerror(errno));
		return 1;
	}
	{
		uint8_t buf[sizeof(struct vfio_irq_set) + sizeof(int32_t)];
		struct vfio_irq_set *set = (struct vfio_irq_set *)buf;

		*set = (struct vfio_irq_set){ .argsz = sizeof(buf),
					      .flags = VFIO_IRQ_SET_DATA_EVENTFD |
						       VFIO_IRQ_SET_ACTION_TRIGGER,
					      .index = VFIO_PCI_INTX_IRQ_INDEX, .count = 1 };
		memcpy(set->data, &f, sizeof(f));
		t0 = now();
		printf("set_irqs: %s %.2f s\n", ename(ioctl(d, VFIO_DEVICE_SET_IRQS, set)),
		       now() - t0);
	}
	return 0;
}

static int hold(const char *path, int max)
{
	sigset_t usr1, old;
	int n = 0, e = 0;

	/* Blocked until sigsuspend(): a SIGUSR1 sent early is not lost. */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, &old);
	signal(SIGUSR1, on_usr1);
	for (; n < max; n++) {
		if (open(path, O_RDWR | O_CLOEXEC) < 0) {
			e = errno;
			break;
		}
	}
	printf("opened=%d errno=%s\n", n, e ? strerrorname_np(e) : "0");
	while (!go)
		sigsuspend(&old);
	closefrom(3);
	printf("closed\n");
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "attacker"))
		return attacker(argv[2]);
	if (argc >= 4 && !strcmp(argv[1], "as-tid"))
		return as_tid(atoi(argv[2]), argv + 3);
	if (argc == 6 && !strcmp(argv[1], "stall"))
		return stall(argv[2], argv[3], argv[4], atoi(argv[5]));
	if (argc == 4 && !strcmp(argv[1], "hold"))
		return hold(argv[2], atoi(argv[3]));
	fprintf(stderr, "usage: see the head of vfio-hostile.c\n");
	return 2;
}
