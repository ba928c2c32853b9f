#!/bin/busybox sh
# shellcheck shell=dash
# /init of the vfio-cuse test VM (busybox sh, PID 1).  Built into the
# initramfs by tests/vm/setup.sh; driven by tests/vm/run.sh through the
# "results" 9p share, which holds run.env (settings) and cmd.sh (the command).
#
# Never exit: PID 1 exiting panics the kernel.  On any failure we print a
# message and power off without writing the status file; run.sh reports that.

export PATH=/bin
umask 022

say() { echo "vm-init: $*"; }

halt_vm() {
	sync
	poweroff -f
	echo o >/proc/sysrq-trigger 2>/dev/null
	sleep 5
	say "poweroff failed"
	while :; do sleep 3600; done
}

die() {
	say "error: $*"
	halt_vm
}

mount -t proc proc /proc || die "mount /proc"
mount -t sysfs sysfs /sys || die "mount /sys"
mount -t devtmpfs devtmpfs /dev 2>/dev/null || die "mount /dev"

# Load modules in dependency order (resolved on the host by setup.sh).
while read -r mod; do
	[ -n "$mod" ] || continue
	insmod "/lib/modules/$mod" 2>/tmp/insmod.err ||
		say "warning: insmod $mod failed: $(cat /tmp/insmod.err)"
done </etc/modules.list

P9OPTS=trans=virtio,version=9p2000.L,msize=512000

mount -t 9p -o "$P9OPTS,cache=none" results /mnt/results || die "mount results share"
[ -r /mnt/results/run.env ] || die "no run.env on the results share"
# shellcheck source=/dev/null
. /mnt/results/run.env

mount -t 9p -o "ro,$P9OPTS,cache=loose" hostroot /host || die "mount host root"

# Host paths under /tmp that must stay visible once /host/tmp is a tmpfs:
# bind them aside, mount the tmpfs, move them back.
n=0
printf '%s\n' "$VM_KEEP_TMP" >/tmp/keep.list
while read -r p; do
	[ -n "$p" ] || continue
	[ -d "/host$p" ] || continue
	n=$((n + 1))
	mkdir -p "/keep/$n"
	mount -o bind "/host$p" "/keep/$n" || die "bind $p aside"
	echo "$n $p" >>/tmp/keep.done
done </tmp/keep.list

H=/host
mount -t proc proc "$H/proc" || die "mount $H/proc"
mount -t sysfs sysfs "$H/sys" || die "mount $H/sys"
mount -t devtmpfs devtmpfs "$H/dev" || die "mount $H/dev"
mkdir -p "$H/dev/pts" "$H/dev/shm"
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts "$H/dev/pts" || die "mount devpts"
mount -t tmpfs -o mode=1777 tmpfs "$H/dev/shm" || die "mount /dev/shm"
mount -t tmpfs -o mode=1777 tmpfs "$H/tmp" || die "mount /tmp"
mount -t tmpfs -o mode=755 tmpfs "$H/run" || die "mount /run"

if [ -f /tmp/keep.done ]; then
	while read -r n p; do
		mkdir -p "$H$p"
		mount -o move "/keep/$n" "$H$p" || die "move $p back"
	done </tmp/keep.done
fi

# The results share, at the same absolute path as on the host.
mkdir -p "$H$VM_RESULTS" 2>/dev/null
mount -o move /mnt/results "$H$VM_RESULTS" || die "move results share to $VM_RESULTS"
R="$H$VM_RESULTS"

# Extra writable shares: lines "TAG PATH".
printf '%s\n' "$VM_RW_SHARES" >/tmp/rw.list
while read -r tag p; do
	[ -n "$tag" ] || continue
	mkdir -p "$H$p" 2>/dev/null
	mount -t 9p -o "$P9OPTS,cache=none" "$tag" "$H$p" || die "mount rw share $p"
done </tmp/rw.list

# The guest kernel's own modules, for modprobe inside the chroot.
if [ -n "$VM_MODULES_DIR" ] && [ -d "$H$VM_MODULES_DIR" ] && [ -d "$H/lib/modules" ]; then
	if ! { mount -t tmpfs -o mode=755 tmpfs "$H/lib/modules" &&
		mkdir -p "$H/lib/modules/$VM_KVER" &&
		mount -o bind "$H$VM_MODULES_DIR" "$H/lib/modules/$VM_KVER"; }; then
		say "warning: could not expose guest modules at /lib/modules"
	fi
fi

# Bind QEMU's edu device (1234:11e8) to vfio-pci.
EDU_BDF=
EDU_GROUP=
for d in /sys/bus/pci/devices/*; do
	if [ "$(cat "$d/vendor")" = 0x1234 ] && [ "$(cat "$d/device")" = 0x11e8 ]; then
		EDU_BDF=${d##*/}
		break
	fi
done
if [ -n "$EDU_BDF" ]; then
	d=/sys/bus/pci/devices/$EDU_BDF
	echo vfio-pci >"$d/driver_override" || say "warning: driver_override failed"
	echo "$EDU_BDF" >/sys/bus/pci/drivers_probe || say "warning: drivers_probe failed"
	if [ -L "$d/iommu_group" ]; then
		g=$(readlink "$d/iommu_group")
		EDU_GROUP=${g##*/}
		i=0
		while [ ! -e "/dev/vfio/$EDU_GROUP" ] && [ $i -lt 100 ]; do
			sleep 0.02
			i=$((i + 1))
		done
		[ -e "/dev/vfio/$EDU_GROUP" ] || say "warning: /dev/vfio/$EDU_GROUP did not appear"
	else
		say "warning: edu device $EDU_BDF has no IOMMU group"
	fi
else
	say "warning: no edu device (1234:11e8) found"
fi

read -r up _ </proc/uptime
echo "cmd_start $up" >"$R/timing"

# Not a plain chroot: the kernel refuses user namespaces (unprivileged
# vfio-cuse-run) to a chrooted process. In a mount namespace of its own, the
# host root is moved onto / and entered with chroot ".", as switch_root
# does: the process's root is then the namespace's, not a chroot. The moved
# tree hides the initramfs, so busybox is re-entered through /proc/self/exe.
export H
unshare -m /bin/busybox sh -c 'cd "$H" && mount --move . / && exec -a chroot /proc/self/exe . "$@"' \
	move-root /usr/bin/env -i \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	HOME=/root TERM=dumb LANG=C.UTF-8 \
	VFIO_CUSE_IN_VM=1 \
	VFIO_CUSE_EDU_BDF="$EDU_BDF" \
	VFIO_CUSE_EDU_GROUP="$EDU_GROUP" \
	VFIO_CUSE_VM_MODROOT="$VM_MODROOT" \
	/bin/sh "$VM_RESULTS/cmd.sh" <"$H/dev/null" >"$R/stdout" 2>"$R/stderr"
rc=$?

read -r up _ </proc/uptime
echo "cmd_end $up" >>"$R/timing"
echo "$rc" >"$R/status.tmp" && mv "$R/status.tmp" "$R/status"
halt_vm
