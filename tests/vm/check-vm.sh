#!/usr/bin/env bash
# tests/vm/check-vm.sh: smoke test of the test VM (meson-friendly).
#
# Sets the VM up if needed (unless VFIO_CUSE_VM_SKIP_SETUP=1), boots it once
# and checks inside: /dev/cuse, /dev/vfio/vfio, /dev/vfio/$VFIO_CUSE_EDU_GROUP,
# the edu device's vendor 0x1234 and its binding to vfio-pci, and that a
# dynamically linked host binary runs.
#
# Exit status: 0 pass; 1 fail; 77 the VM cannot be run on this host.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if ! "$HERE/setup.sh" --offline --quiet; then
	if [[ ${VFIO_CUSE_VM_SKIP_SETUP:-0} == 1 ]]; then
		echo "vm: test VM not set up and VFIO_CUSE_VM_SKIP_SETUP=1: skipping" >&2
		exit 77
	fi
	rc=0
	"$HERE/setup.sh" || rc=$?
	if ((rc == 77)); then
		echo "vm: the test VM cannot be set up on this host: skipping" >&2
		exit 77
	elif ((rc != 0)); then
		echo "vm: error: tests/vm/setup.sh failed with status $rc" >&2
		exit 1
	fi
fi

# shellcheck disable=SC2016 # expanded in the guest
guest_check='
fails=0
check() {
	if eval "$2"; then echo "ok: $1"; else echo "FAIL: $1"; fails=$((fails + 1)); fi
}
check "VFIO_CUSE_IN_VM=1" "[ \"\$VFIO_CUSE_IN_VM\" = 1 ]"
check "edu BDF known ($VFIO_CUSE_EDU_BDF)" "[ -n \"\$VFIO_CUSE_EDU_BDF\" ]"
check "edu group known ($VFIO_CUSE_EDU_GROUP)" "[ -n \"\$VFIO_CUSE_EDU_GROUP\" ]"
check "/dev/cuse is a char device" "[ -c /dev/cuse ]"
check "/dev/vfio/vfio is a char device" "[ -c /dev/vfio/vfio ]"
check "/dev/vfio/$VFIO_CUSE_EDU_GROUP is a char device" "[ -c \"/dev/vfio/\$VFIO_CUSE_EDU_GROUP\" ]"
check "edu vendor is 0x1234" "[ \"\$(cat /sys/bus/pci/devices/\$VFIO_CUSE_EDU_BDF/vendor)\" = 0x1234 ]"
check "edu bound to vfio-pci" "[ \"\$(basename \"\$(readlink /sys/bus/pci/devices/\$VFIO_CUSE_EDU_BDF/driver)\")\" = vfio-pci ]"
check "host python3 or ls runs" "if command -v python3 >/dev/null; then python3 -c \"print(1)\" >/dev/null; else ls / >/dev/null; fi"
check "/tmp is writable" "touch /tmp/.vm-check && rm /tmp/.vm-check"
echo "guest: $(uname -r), $fails failure(s)"
exit $((fails != 0))
'

rc=0
"$HERE/run.sh" --timeout "${VFIO_CUSE_VM_TIMEOUT:-300}" -- /bin/sh -c "$guest_check" || rc=$?
if ((rc == 77)); then
	exit 77
elif ((rc != 0)); then
	echo "vm: check-vm: FAILED (status $rc)" >&2
	exit 1
fi
echo "vm: check-vm: passed"
