#!/usr/bin/env bash
# The main job: build, then run the demo of the whole VFIO flow.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh
[ -d build ] || meson setup build >/dev/null
meson compile -C build >/dev/null
exec build/src/demo/vfio-cuse-demo
