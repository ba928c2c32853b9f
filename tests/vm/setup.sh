#!/usr/bin/env bash
# tests/vm/setup.sh: prepare (and cache) everything the vfio-cuse test VM needs.
#
#   setup.sh [--offline] [--quiet] [--print-env]
#
# Installs the host packages, fetches Debian's kernel (the package that
# linux-image-amd64 depends on) without installing it, unpacks it into the
# cache, runs depmod, extracts the uncompressed vmlinux (PVH entry) from the
# bzImage, and builds the initramfs (busybox-static /init + modules).
#
# Cache: ${VFIO_CUSE_VM_CACHE:-/var/cache/vfio-cuse-vm}
#   kernel-<pkg>_<version>/  unpacked kernel package, vmlinux, .complete
#   initramfs-<key>.cpio     key = hash of this script, guest-init.sh,
#                            the module list, the kernel and busybox
#   current.env              what run.sh uses (shell assignments)
#
# --offline   never run apt: use the kernel named in current.env, (re)build
#             only the initramfs if stale.  Used by run.sh and check-vm.sh.
# --print-env print current.env on stdout when done.
#
# Exit status: 0 ready; 77 cannot be set up here (no apt access, package
# missing in --offline mode, not root when work is needed); 1 other errors.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${VFIO_CUSE_VM_CACHE:-/var/cache/vfio-cuse-vm}
OFFLINE=0
QUIET=0
PRINT_ENV=0

PACKAGES=(qemu-system-x86 qemu-utils busybox-static kmod cpio binutils xz-utils zstd gzip bzip2 lz4 coreutils util-linux)
# Modules for the guest, in the wanted load order; dependencies are added by
# modprobe --show-depends.  Absent or built-in ones are skipped.
MODULES=(
	virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
	netfs fscache 9pnet 9p 9pnet_virtio
	fuse cuse
	vfio vfio_iommu_type1 irqbypass vfio_virqfd vfio-pci-core vfio-pci
	pci-stub
)

log() { if [[ $QUIET == 0 ]]; then echo "vm: $*" >&2; fi; }
warn() { echo "vm: warning: $*" >&2; }
die() { echo "vm: error: $*" >&2; exit 1; }
unavailable() { echo "vm: cannot set up the test VM here: $*" >&2; exit 77; }

while (($#)); do
	case $1 in
	--offline) OFFLINE=1 ;;
	--quiet | -q) QUIET=1 ;;
	--print-env) PRINT_ENV=1 ;;
	-h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "setup.sh: unknown argument '$1' (try --help)" ;;
	esac
	shift
done

TMPS=()
cleanup() {
	local d
	for d in "${TMPS[@]}"; do
		if [[ -n $d && -e $d ]]; then
			rm -rf -- "$d"
		fi
	done
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need_root() {
	[[ $(id -u) == 0 ]] || unavailable "$1 needs root (run tests/vm/setup.sh as root)"
}

LOCKED=0
take_lock() {
	[[ $LOCKED == 1 ]] && return 0
	need_root "${1:-updating the cache}"
	mkdir -p -- "$CACHE" || die "cannot create cache dir $CACHE"
	exec 9>"$CACHE/.lock" || die "cannot open $CACHE/.lock"
	flock 9 || die "cannot lock $CACHE/.lock"
	LOCKED=1
}

# ---------------------------------------------------------------- packages

APT_UPDATED=0
apt_update() {
	[[ $APT_UPDATED == 1 ]] && return 0
	log "apt-get update"
	apt-get update -qq >&2 || unavailable "apt-get update failed"
	APT_UPDATED=1
}

ensure_packages() {
	local p st missing=()
	local -A ok=()
	command -v dpkg-query >/dev/null || unavailable "not a Debian system (no dpkg-query)"
	while read -r p st; do
		[[ $st == installed ]] && ok[${p%%:*}]=1
	done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${PACKAGES[@]}" 2>/dev/null || true)
	for p in "${PACKAGES[@]}"; do
		[[ -n ${ok[$p]:-} ]] || missing+=("$p")
	done
	((${#missing[@]})) || return 0
	[[ $OFFLINE == 0 ]] || unavailable "missing packages: ${missing[*]} (run tests/vm/setup.sh)"
	need_root "installing ${missing[*]}"
	log "installing ${missing[*]}"
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; then
		apt_update
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
			unavailable "apt-get install ${missing[*]} failed"
	fi
}

# ---------------------------------------------------------------- kernel
# Prints "<package> <version>" of the kernel linux-image-amd64 depends on.
resolve_kernel_pkg() {
	local pkg ver
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n1)
	[[ -n $pkg ]] || return 1
	ver=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null | sed -n 's/^Version: //p' | head -n1)
	[[ -n $ver ]] || return 1
	echo "$pkg $ver"
}

# extract_vmlinux BZIMAGE OUT: find an embedded compressed stream whose
# decompression is an ELF file (same method as the kernel's
# scripts/extract-vmlinux).  Returns 1 if none is found.
extract_vmlinux() {
	local img=$1 out=$2 tmp i magic cmd off
	local -a magics=('\x1f\x8b\x08' '\xfd\x37\x7a\x58\x5a\x00' 'BZh' '\x5d\x00\x00\x00'
		'\x89\x4c\x5a\x4f' '\x02\x21\x4c\x18' '\x28\xb5\x2f\xfd')
	local -a cmds=('gzip -dc' 'xz -dc' 'bzip2 -dc' 'xz -dc --format=lzma'
		'lzop -dc' 'lz4 -dc' 'zstd -dc')
	tmp=$out.tmp
	if readelf -h "$img" >/dev/null 2>&1; then
		cp -- "$img" "$out"
		return 0
	fi
	for i in "${!magics[@]}"; do
		magic=${magics[$i]}
		cmd=${cmds[$i]}
		command -v "${cmd%% *}" >/dev/null || continue
		while read -r off; do
			[[ -n $off ]] || continue
			# Decompressors complain about the trailing bytes; the ELF check decides.
			tail -c "+$((off + 1))" -- "$img" | $cmd >"$tmp" 2>/dev/null || true
			if [[ -s $tmp ]] && readelf -h "$tmp" >/dev/null 2>&1; then
				mv -- "$tmp" "$out"
				log "vmlinux found at offset $off ($cmd)"
				return 0
			fi
		done < <(LC_ALL=C grep -obUaP "$magic" -- "$img" 2>/dev/null | cut -d: -f1 || true)
	done
	rm -f -- "$tmp"
	return 1
}

# setup_kernel PKG VER: make $CACHE/kernel-PKG_VER complete.  Sets KDIR.
setup_kernel() {
	local pkg=$1 ver=$2 dl deb kver vmlinuz
	KDIR=$CACHE/kernel-${pkg}_${ver}
	[[ -f $KDIR/.complete ]] && return 0
	take_lock "downloading the kernel"
	[[ -f $KDIR/.complete ]] && return 0
	rm -rf -- "$KDIR" "$KDIR.tmp"
	dl=$(mktemp -d "$CACHE/dl.XXXXXX")
	TMPS+=("$dl" "$KDIR.tmp")
	chmod 755 "$dl" # lets apt's _apt user write there (no sandbox warning)
	chown _apt "$dl" 2>/dev/null || true
	log "downloading $pkg=$ver"
	(cd "$dl" && apt-get download -qq "$pkg=$ver" >&2) || unavailable "apt-get download $pkg=$ver failed"
	deb=$(find "$dl" -maxdepth 1 -name '*.deb' | head -n1)
	[[ -n $deb ]] || die "apt-get download left no .deb in $dl"
	mkdir -p "$KDIR.tmp"
	log "unpacking $(basename "$deb")"
	dpkg -x "$deb" "$KDIR.tmp/root" || die "dpkg -x $deb failed"
	rm -rf -- "$dl"
	kver=$(find "$KDIR.tmp/root/lib/modules" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | head -n1)
	[[ -n $kver ]] || die "no lib/modules/<version> in $pkg"
	vmlinuz=$KDIR.tmp/root/boot/vmlinuz-$kver
	[[ -f $vmlinuz ]] || die "no boot/vmlinuz-$kver in $pkg"
	log "depmod $kver"
	depmod -b "$KDIR.tmp/root" "$kver" || die "depmod -b failed"
	echo "$kver" >"$KDIR.tmp/kver"
	# Prefer the uncompressed vmlinux: QEMU boots it through its PVH note,
	# about twice as fast as the bzImage under TCG.
	if extract_vmlinux "$vmlinuz" "$KDIR.tmp/vmlinux"; then
		if readelf -n "$KDIR.tmp/vmlinux" 2>/dev/null | grep -q 'Xen.*0x00000012'; then
			echo vmlinux >"$KDIR.tmp/boot"
		else
			warn "vmlinux has no PVH note; booting the bzImage instead"
			rm -f -- "$KDIR.tmp/vmlinux"
			echo "root/boot/vmlinuz-$kver" >"$KDIR.tmp/boot"
		fi
	else
		warn "could not extract vmlinux from $vmlinuz; booting the bzImage instead"
		echo "root/boot/vmlinuz-$kver" >"$KDIR.tmp/boot"
	fi
	touch "$KDIR.tmp/.complete"
	mv -- "$KDIR.tmp" "$KDIR"
	log "kernel $kver ready in $KDIR"
}

# ---------------------------------------------------------------- initramfs
initramfs_key() {
	local busybox
	busybox=$(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null || echo unknown)
	{
		cat -- "${BASH_SOURCE[0]}" "$HERE/guest-init.sh"
		printf '%s\n' "${MODULES[@]}" "$KDIR" "$busybox"
	} | sha256sum | cut -c1-16
}

build_initramfs() {
	local out=$1 kver=$2 st line mod path base a n
	local -A seen=()
	st=$(mktemp -d "${TMPDIR:-/tmp}/vfio-cuse-vm-initramfs.XXXXXX")
	TMPS+=("$st" "$out.tmp")
	mkdir -p "$st"/{bin,dev,proc,sys,tmp,host,keep,etc,mnt/results,lib/modules}
	chmod 1777 "$st/tmp"
	[[ -x /bin/busybox ]] || die "/bin/busybox missing (package busybox-static)"
	if readelf -l /bin/busybox 2>/dev/null | grep -q 'INTERP'; then
		die "/bin/busybox is dynamically linked; install busybox-static"
	fi
	cp /bin/busybox "$st/bin/busybox"
	for a in $("$st/bin/busybox" --list); do
		[[ $a == busybox || -e $st/bin/$a ]] || ln -s busybox "$st/bin/$a"
	done
	mknod -m 600 "$st/dev/console" c 5 1 || die "mknod /dev/console failed (needs root)"
	mknod -m 666 "$st/dev/null" c 1 3 || die "mknod /dev/null failed"
	install -m 755 "$HERE/guest-init.sh" "$st/init"

	: >"$st/etc/modules.list"
	n=0
	for mod in "${MODULES[@]}"; do
		if ! line=$(modprobe -d "$KDIR/root" -S "$kver" --show-depends "$mod" 2>/dev/null); then
			warn "module $mod not found in kernel $kver (skipped)"
			continue
		fi
		while read -r a path _; do
			case $a in
			builtin) log "module $path is built in" ;;
			insmod)
				base=$(basename "$path")
				base=${base%.xz}
				base=${base%.zst}
				base=${base%.gz}
				[[ -z ${seen[$base]:-} ]] || continue
				seen[$base]=1
				case $path in
				*.ko.xz) xz -dc -- "$path" >"$st/lib/modules/$base" ;;
				*.ko.zst) zstd -qdc -- "$path" >"$st/lib/modules/$base" ;;
				*.ko.gz) gzip -dc -- "$path" >"$st/lib/modules/$base" ;;
				*) cp -- "$path" "$st/lib/modules/$base" ;;
				esac
				echo "$base" >>"$st/etc/modules.list"
				n=$((n + 1))
				;;
			esac
		done <<<"$line"
	done
	log "initramfs: $n modules: $(tr '\n' ' ' <"$st/etc/modules.list")"
	(cd "$st" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc --quiet --reproducible) >"$out.tmp" || die "cpio failed"
	mv -- "$out.tmp" "$out"
	rm -rf -- "$st"
	log "initramfs ready: $out ($(du -h "$out" | cut -f1))"
}

# ---------------------------------------------------------------- main
q() { printf "%q" "$1"; }

ensure_packages
command -v qemu-system-x86_64 >/dev/null || unavailable "qemu-system-x86_64 not found"

if [[ $OFFLINE == 1 ]]; then
	[[ -r $CACHE/current.env ]] || unavailable "$CACHE/current.env missing (run tests/vm/setup.sh)"
	# shellcheck source=/dev/null
	. "$CACHE/current.env"
	KDIR=$VM_KERNEL_DIR
	[[ -f $KDIR/.complete ]] || unavailable "kernel cache $KDIR incomplete (run tests/vm/setup.sh)"
	KPKG=$VM_KERNEL_PKG
	KPKGVER=$VM_KERNEL_PKG_VERSION
else
	if ! pv=$(resolve_kernel_pkg); then
		need_root "apt-get update"
		apt_update
		pv=$(resolve_kernel_pkg) || unavailable "cannot resolve the package linux-image-amd64 depends on"
	fi
	read -r KPKG KPKGVER <<<"$pv"
	setup_kernel "$KPKG" "$KPKGVER"
fi

KVER=$(cat "$KDIR/kver")
BOOT=$KDIR/$(cat "$KDIR/boot")
KEY=$(initramfs_key)
INITRAMFS=$CACHE/initramfs-$KEY.cpio

if [[ ! -f $INITRAMFS ]]; then
	take_lock "building the initramfs"
	if [[ ! -f $INITRAMFS ]]; then
		log "building initramfs for $KVER"
		build_initramfs "$INITRAMFS" "$KVER"
	fi
fi

ENV_NEW=$(
	echo "VM_KERNEL_PKG=$(q "$KPKG")"
	echo "VM_KERNEL_PKG_VERSION=$(q "$KPKGVER")"
	echo "VM_KERNEL_DIR=$(q "$KDIR")"
	echo "VM_KVER=$(q "$KVER")"
	echo "VM_KERNEL=$(q "$BOOT")"
	echo "VM_MODULES_DIR=$(q "$KDIR/root/lib/modules/$KVER")"
	echo "VM_INITRAMFS=$(q "$INITRAMFS")"
)
if [[ ! -f $CACHE/current.env || $(cat "$CACHE/current.env") != "$ENV_NEW" ]]; then
	take_lock "writing current.env"
	printf '%s\n' "$ENV_NEW" >"$CACHE/current.env.tmp"
	mv -- "$CACHE/current.env.tmp" "$CACHE/current.env"
	# Drop what the new state no longer uses.
	for old in "$CACHE"/initramfs-*.cpio "$CACHE"/kernel-*; do
		[[ -e $old && $old != "$INITRAMFS" && $old != "$KDIR" ]] || continue
		log "removing stale $old"
		rm -rf -- "$old"
	done
fi

if [[ $PRINT_ENV == 1 ]]; then
	printf '%s\n' "$ENV_NEW"
fi
log "ready: kernel $KVER ($KPKG $KPKGVER), $(basename "$INITRAMFS")"
