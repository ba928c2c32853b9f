#!/bin/sh
# The emulated NVMe under QEMU's userspace NVMe driver, against the same
# bench on its backing file: qemu-img bench of 4 KiB reads and writes at
# queue depth 1 and 32, three alternating rounds, medians and ratios. Then
# the daemon's CPU while the controller is enabled and idle.
# Run in the test VM by tests/vm/guest-daemon.sh (test "nvbench"), with a
# daemon serving an nvme device on IMG, VFIO_CUSE_RUNDIR set.
# Usage: bench/bench-nvme.sh RUN PREFIX BDF IMG DAEMON-PID
set -eu
run=${1:?usage: bench-nvme.sh RUN PREFIX BDF IMG DAEMON-PID} prefix=$2 bdf=$3 img=$4 pid=$5
raw=$(mktemp)
trap 'rm -f "$raw"' EXIT

# IOPS of one qemu-img bench: COUNT DEPTH (r|w) TARGET...
iops() {
	n=$1 d=$2 rw=$3
	shift 3
	w=""
	[ "$rw" = w ] && w=-w
	t=$(timeout 300 "$@" -c "$n" -d "$d" -s 4k -S 4k $w 2>&1 |
		sed -n 's/^Run completed in \([0-9.]*\) seconds\./\1/p')
	[ -n "$t" ] || { echo "qemu-img bench failed: $*" >&2; exit 1; }
	echo "$n $t" | awk '{ printf "%.0f", $1 / $2 }'
}

for round in 1 2 3; do
	for cfg in "1 r 2000" "32 r 8000" "1 w 2000" "32 w 8000"; do
		set -- $cfg
		d=$1 rw=$2 n=$3
		echo "file $rw$d $(iops "$n" "$d" "$rw" qemu-img bench -f raw "$img")" >>"$raw"
		echo "nvme $rw$d $(iops "$n" "$d" "$rw" "$run" --dev-prefix "$prefix" --sysfs-view -- \
			qemu-img bench -f raw "nvme://$bdf/1")" >>"$raw"
	done
done
med() { awk -v k="$1 $2" '$1 " " $2 == k { print $3 }' "$raw" | sort -g | sed -n 2p; }
for k in r1 r32 w1 w32; do
	f=$(med file $k) e=$(med nvme $k)
	echo "$k $f $e" | awk '{ printf "4 KiB %s at depth %s: file %d IOPS, emulated NVMe %d IOPS: %.2fx\n",
		substr($1, 1, 1) == "r" ? "reads" : "writes", substr($1, 2), $2, $3, $3 / $2 }'
done

# Idle: the daemon's user+system CPU over 20 s, first with no client,
# then with the controller enabled and idle (qemu-io holds it, sleeping).
ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
cpu() { # SECONDS: percent of a CPU the daemon used over that long
	t0=$(ticks)
	sleep "$1"
	t1=$(ticks)
	echo "$t0 $t1 $hz $1" | awk '{ printf "%.2f", ($2 - $1) * 100 / ($3 * $4) }'
}
closed=$(cpu 20)
"$run" --dev-prefix "$prefix" --sysfs-view -- qemu-io -f raw -c 'sleep 25000' "nvme://$bdf/1" \
	>/dev/null 2>&1 &
io=$!
sleep 3
open=$(cpu 20)
wait $io || true
echo "idle controller: the daemon used $open% of a CPU over 20 s (no client: $closed%)"
