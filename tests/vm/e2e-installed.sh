#!/usr/bin/env bash
# End-to-end test of the INSTALLED vfio-cuse in the test VM: the daemon
# as the installed unit starts it, with the installed configuration, and
# the installed vfio-cuse-run with the e2e client (the only program taken
# from BUILD_DIR) and qemu-img. The guest sees the host's root file system
# (tests/vm/run.sh), so what the package or `meson install` put on this
# host is what runs there. Run it after installing (.ci/run installs the
# .debs with apt-get).
# Usage: tests/vm/e2e-installed.sh BUILD_DIR [UNIT]
#   UNIT defaults to vfio-cused.service in pkg-config's systemdsystemunitdir.
# Exit 77: no VM here, or nothing installed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: e2e-installed.sh BUILD_DIR [UNIT]}" && pwd)
unit=${2:-$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || true)/vfio-cused.service}
client=$build/tests/vm/client/vfio-e2e-client
[ -x "$client" ] || { echo "e2e-installed: no $client: build $build first" >&2; exit 1; }
if [ ! -f "$unit" ]; then
	echo "e2e-installed: no installed unit at $unit: install vfio-cuse first (docs/install.md)" >&2
	exit 77
fi
results="$build/vm-results-installed"
rm -rf "$results"
mkdir -p "$results"
chmod 1777 "$results"
VFIO_CUSE_VM_KEEP_TMP="$build" exec "$here/run.sh" --timeout 180 --share-rw "$results" -- \
	/bin/sh "$here/guest-installed.sh" "$unit" "$client" "$results" "$build"
