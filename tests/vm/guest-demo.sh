#!/bin/sh
# The main job's demo, run where /dev/cuse exists (natively, or in the test
# VM): vfio-cused serves an emulated edu device, and an unmodified VFIO
# client runs the whole flow against it through vfio-cuse-run.
# Usage: guest-demo.sh BUILD_DIR
set -u
B=$1
PREFIX=vfio
# Where the kernel's vfio module owns /dev/vfio, serve beside it.
[ -e /dev/vfio/vfio ] && PREFIX=vfio-cuse
RUNDIR=$(mktemp -d /tmp/vfio-cuse-demo.XXXXXX)
LOG=$RUNDIR/daemon.log

echo "== vfio-cused: an emulated edu device (QEMU's edu, 1234:11e8) as 0000:06:0d.0 in group 26"
"$B/cuse/vfio-cused" --prefix $PREFIX --rundir "$RUNDIR" \
	--device 0000:06:0d.0,group=26,model=edu 2>"$LOG" &
daemon=$!
i=0
while [ ! -c /dev/$PREFIX/26 ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
if [ ! -c /dev/$PREFIX/26 ]; then
	echo "demo: vfio-cused did not start:"
	cat "$LOG"
	exit 1
fi
echo "   nodes: $(ls /dev/$PREFIX | tr '\n' ' ')(under /dev/$PREFIX)"
echo "   sysfs view: $(readlink "$RUNDIR/sysfs/devices/0000:06:0d.0/iommu_group")"
echo
echo "== vfio-e2e-client, an unmodified VFIO client, under vfio-cuse-run:"
echo "   container, group, TYPE1v2, IOMMU caps, 1 MiB mapped, device fd, config"
echo "   space, BAR0 registers, factorial, DMA through an IOVA, MSI and INTx"
echo "   through eventfds, reset, unmap, closes"
echo
VFIO_CUSE_RUNDIR=$RUNDIR "$B/client/vfio-cuse-run" --dev-prefix $PREFIX --sysfs-view -- \
	"$B/tests/vm/client/vfio-e2e-client" --group 26 --device 0000:06:0d.0 --no-mmap |
	sed 's/^/   /'
rc=$?
kill $daemon
wait $daemon
echo
echo "== vfio-cused's log (notices and above):"
grep '^<[0-5]>' "$LOG" | sed 's/^/   /'
rm -rf "$RUNDIR"
exit $rc
