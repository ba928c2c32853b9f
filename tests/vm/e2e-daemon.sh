#!/usr/bin/env bash
# End-to-end tests of vfio-cused in the test VM: the full flow in every
# close order, the transcript compared with the real kernel's, group
# permissions, client death, QEMU as a client, and ioctl round trips.
# Usage: tests/vm/e2e-daemon.sh BUILD_DIR [TEST...]   (exit 77: no VM here)
# e.g. SIDE_RSS_N=65000 tests/vm/e2e-daemon.sh build side
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=$(cd "${1:?usage: e2e-daemon.sh BUILD_DIR [TEST...]}" && pwd)
shift
results="$build/vm-results"
rm -rf "$results"
mkdir -p "$results"
chmod 1777 "$results"
# Counts of the benchmarks, passed on when set: KBENCH_N, SIDE_N, SIDE_RSS_N.
envs=()
for v in KBENCH_N SIDE_N SIDE_RSS_N; do
	if [[ -n ${!v:-} ]]; then envs+=(--env "$v=${!v}"); fi
done
VFIO_CUSE_VM_KEEP_TMP="$build:$src" exec "$here/run.sh" --timeout 600 --share-rw "$results" \
	"${envs[@]}" -- \
	/bin/sh "$src/tests/vm/guest-daemon.sh" "$build" "$results" "$src" "$@"
