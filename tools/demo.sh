#!/usr/bin/env bash
# The main job: build, then run vfio-cused with an emulated edu device and
# an unmodified VFIO client through the whole flow. Natively where
# /dev/cuse exists and we are root, otherwise inside the test VM.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
if [ ! -f build/build.ninja ]; then
	rm -rf build
	meson setup build >build.setup.log 2>&1 || { cat build.setup.log >&2; exit 1; }
fi
meson compile -C build >/dev/null
if [ -c /dev/cuse ] && [ "$(id -u)" -eq 0 ]; then
	exec sh tests/vm/guest-demo.sh "$PWD/build"
fi
echo "demo: no /dev/cuse here: running in the test VM (Debian 12's kernel under QEMU)" >&2
tests/vm/setup.sh --quiet
VFIO_CUSE_VM_KEEP_TMP="$PWD" exec tests/vm/run.sh --timeout 300 -- \
	/bin/sh "$PWD/tests/vm/guest-demo.sh" "$PWD/build"
