/* SPDX-License-Identifier: MIT */
/*
 * bench-mmap-other [N]: what the client library's mmap wrapper costs an fd
 * that is not vfio-cused's: mmap+munmap of 4 KiB of a memfd, MAP_SHARED
 * (the case that reaches the device-fd test; anonymous and private
 * mappings skip it before any syscall). Prints ns per pair. Run it with
 * and without LD_PRELOAD=libvfio-cuse-preload.so in alternating rounds:
 * bench/bench-mmap-other.sh does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 200000, fd = memfd_create("bench", MFD_CLOEXEC);
	struct timespec a, b;

	if (fd < 0 || ftruncate(fd, 4096) < 0)
		return 1;
	for (int i = 0; i < n / 10; i++)
		munmap(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), 4096);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < n; i++) {
		void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

		if (p == MAP_FAILED)
			return 1;
		munmap(p, 4096);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
	return 0;
}
