#!/usr/bin/env bash
# The main job: build, then run the demo of the whole VFIO flow.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
if [ ! -f build/build.ninja ]; then
	rm -rf build
	meson setup build >build.setup.log 2>&1 || { cat build.setup.log >&2; exit 1; }
fi
meson compile -C build >/dev/null
exec build/src/demo/vfio-cuse-demo
