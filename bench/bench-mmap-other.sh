#!/bin/sh
# The client library's cost on mmap of other fds: bench-mmap-other with and
# without the library, 7 alternating rounds; prints the medians and ratio.
# Usage: bench/bench-mmap-other.sh BUILD_DIR
set -eu
b=${1:?usage: bench-mmap-other.sh BUILD_DIR}
lib="$b/client/libvfio-cuse-preload.so"
raw="" pre=""
for i in 1 2 3 4 5 6 7; do
	raw="$raw $("$b/bench/bench-mmap-other")"
	pre="$pre $(LD_PRELOAD="$lib" "$b/bench/bench-mmap-other")"
done
med() { printf '%s\n' $1 | sort -g | sed -n 4p; }
r=$(med "$raw") p=$(med "$pre")
echo "mmap+munmap of a memfd, MAP_SHARED: without the library $r ns, with it $p ns: $(echo "$p $r" | awk '{ printf "%.3fx", $1 / $2 }')"
