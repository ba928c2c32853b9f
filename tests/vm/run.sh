#!/usr/bin/env bash
# tests/vm/run.sh: run one command inside the vfio-cuse test VM.
#
#   run.sh [OPTIONS] -- CMD [ARGS...]
#
# Boots Debian's kernel under QEMU/TCG (q35, VT-d, QEMU's edu device bound to
# vfio-pci) with the host's root file system shared read-only over virtio-9p,
# and runs CMD as root in `chroot /host`, in the host's current directory.
# CMD's stdout and stderr are streamed back to this script's stdout and
# stderr; its exit status becomes this script's exit status.
#
# In the guest, CMD sees: VFIO_CUSE_IN_VM=1, VFIO_CUSE_EDU_BDF (e.g.
# 0000:00:03.0), VFIO_CUSE_EDU_GROUP (its IOMMU group number), /dev/cuse,
# /dev/vfio/vfio and /dev/vfio/$VFIO_CUSE_EDU_GROUP; fresh tmpfs on /tmp,
# /run and /dev/shm (host directories under /tmp that hold $PWD, this repo or
# an absolute CMD argument stay visible, read-only); the guest kernel's
# modules in $VFIO_CUSE_VM_MODROOT (use `modprobe -d "$VFIO_CUSE_VM_MODROOT"`;
# also bound on /lib/modules/<kver> when the host has a /lib/modules).
# Everything else is read-only.
#
# Options:
#   --timeout SECS   kill the VM after SECS seconds (default 300) and fail
#   --mem SIZE       guest memory (default 1G)
#   --share-rw DIR   share host directory DIR writable, at the same path
#                    (repeatable); the only way to bring files back
#   --env NAME=VAL   set an environment variable for CMD (repeatable)
#   --verbose        also stream the guest console to stderr
#   --timing         print boot and run times to stderr
#   --keep           keep the run's temporary directory (console log etc.)
#
# Environment: VFIO_CUSE_VM_CACHE (see setup.sh), VFIO_CUSE_VM_VERBOSE=1,
# VFIO_CUSE_VM_TIMING=1, VFIO_CUSE_VM_KEEP_TMP (colon-separated extra host
# paths under /tmp to keep visible).
#
# Exit status: CMD's status; 1 if the VM failed (timeout, panic, no status);
# 2 on bad usage; 77 if the VM is not set up on this host (see setup.sh).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

TIMEOUT=300
MEM=1G
VERBOSE=${VFIO_CUSE_VM_VERBOSE:-0}
TIMING=${VFIO_CUSE_VM_TIMING:-0}
KEEP=0
RW_DIRS=()
ENVS=()

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }
bad_usage() { echo "vm: $*" >&2; echo "vm: usage: run.sh [--timeout SECS] [OPTIONS] -- CMD [ARGS...]" >&2; exit 2; }
fail() { echo "vm: error: $*" >&2; exit 1; }

while (($#)); do
	case $1 in
	--timeout) (($# >= 2)) || bad_usage "--timeout needs a value"; TIMEOUT=$2; shift ;;
	--timeout=*) TIMEOUT=${1#*=} ;;
	--mem) (($# >= 2)) || bad_usage "--mem needs a value"; MEM=$2; shift ;;
	--share-rw) (($# >= 2)) || bad_usage "--share-rw needs a directory"; RW_DIRS+=("$2"); shift ;;
	--env) (($# >= 2)) || bad_usage "--env needs NAME=VALUE"; ENVS+=("$2"); shift ;;
	--verbose | -v) VERBOSE=1 ;;
	--timing) TIMING=1 ;;
	--keep) KEEP=1 ;;
	-h | --help) usage; exit 0 ;;
	--) shift; break ;;
	*) bad_usage "unknown option '$1'" ;;
	esac
	shift
done
(($#)) || bad_usage "no command given"
[[ $TIMEOUT =~ ^[0-9]+$ && $TIMEOUT -gt 0 ]] || bad_usage "--timeout must be a positive integer"
for e in "${ENVS[@]}"; do
	[[ $e =~ ^[A-Za-z_][A-Za-z0-9_]*= ]] || bad_usage "--env wants NAME=VALUE, got '$e'"
done

T0=$(date +%s.%N)

# ---- the cached kernel and initramfs (rebuilds a stale initramfs, never downloads)
if ! envtxt=$("$HERE/setup.sh" --offline --quiet --print-env); then
	echo "vm: the test VM is not set up on this host; run tests/vm/setup.sh (as root) first" >&2
	exit 77
fi
eval "$envtxt"
for f in "$VM_KERNEL" "$VM_INITRAMFS"; do
	[[ -r $f ]] || { echo "vm: $f is missing; run tests/vm/setup.sh" >&2; exit 77; }
done

# ---- per-run directory: console log outside the share, the share itself
squote() { local s=${1//\'/\'\\\'\'}; printf "'%s'" "$s"; }
qemu_esc() { printf '%s' "${1//,/,,}"; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vfio-cuse-vm.XXXXXX")
SHARE=$WORK/share
QPID=
TAILS=()
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
	local p
	if [[ -n $QPID ]] && kill -0 "$QPID" 2>/dev/null; then
		kill "$QPID" 2>/dev/null || true
		wait "$QPID" 2>/dev/null || true
	fi
	for p in "${TAILS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	if [[ $KEEP == 1 ]]; then
		echo "vm: kept $WORK" >&2
	else
		rm -rf -- "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -m 1777 "$SHARE"
: >"$SHARE/stdout"
: >"$SHARE/stderr"
chmod 666 "$SHARE/stdout" "$SHARE/stderr"

# Host paths under /tmp to keep visible over the guest's tmpfs /tmp: the top
# directory /tmp/X of $PWD, of this repo and of absolute CMD arguments.
declare -A keep_seen=()
KEEP_TMP=
add_keep() {
	local p=$1 top
	case $p in
	/tmp/?*) ;;
	*) return 0 ;;
	esac
	top=${p#/tmp/}
	top=/tmp/${top%%/*}
	[[ -z ${keep_seen[$top]:-} && $top != "$WORK" ]] || return 0
	keep_seen[$top]=1
	KEEP_TMP+=$top$'\n'
}
add_keep "$PWD"
add_keep "$REPO"
add_keep "$VM_KERNEL_DIR"
for a in "$@"; do add_keep "$a"; done
IFS=: read -r -a extra <<<"${VFIO_CUSE_VM_KEEP_TMP:-}"
for a in "${extra[@]}"; do add_keep "$a"; done

QEMU_SHARES=()
RW_SHARES=
i=0
for d in "${RW_DIRS[@]}"; do
	[[ -d $d ]] || fail "--share-rw $d: not a directory"
	d=$(cd "$d" && pwd)
	[[ $d != *$'\n'* && $d != *' '* ]] || fail "--share-rw $d: path must not contain blanks"
	QEMU_SHARES+=(-fsdev "local,id=rw$i,path=$(qemu_esc "$d"),security_model=none,multidevs=remap"
		-device "virtio-9p-pci,fsdev=rw$i,mount_tag=rw$i")
	RW_SHARES+="rw$i $d"$'\n'
	i=$((i + 1))
done

{
	echo "VM_RESULTS=$(squote "$SHARE")"
	echo "VM_KEEP_TMP=$(squote "$KEEP_TMP")"
	echo "VM_RW_SHARES=$(squote "$RW_SHARES")"
	echo "VM_MODULES_DIR=$(squote "$VM_MODULES_DIR")"
	echo "VM_KVER=$(squote "$VM_KVER")"
	echo "VM_MODROOT=$(squote "$VM_KERNEL_DIR/root")"
} >"$SHARE/run.env"

{
	echo "# generated by tests/vm/run.sh"
	for e in "${ENVS[@]}"; do
		echo "export ${e%%=*}=$(squote "${e#*=}")"
	done
	echo "cd -- $(squote "$PWD") || exit 127"
	printf 'exec'
	for a in "$@"; do printf ' %s' "$(squote "$a")"; done
	printf '\n'
} >"$SHARE/cmd.sh"

# ---- boot
# shellcheck disable=SC2054 # commas belong to QEMU options
QEMU=(qemu-system-x86_64
	-machine q35 -accel tcg -smp 1 -m "$MEM"
	-nodefaults -no-user-config -nographic -serial stdio -no-reboot
	-device intel-iommu,intremap=on
	-device edu
	-kernel "$VM_KERNEL" -initrd "$VM_INITRAMFS"
	-append "console=ttyS0 quiet intel_iommu=on panic=-1"
	-fsdev local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap
	-device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot
	-fsdev "local,id=results,path=$(qemu_esc "$SHARE"),security_model=none,multidevs=remap"
	-device virtio-9p-pci,fsdev=results,mount_tag=results
	"${QEMU_SHARES[@]}"
)
command -v qemu-system-x86_64 >/dev/null || { echo "vm: qemu-system-x86_64 not found; run tests/vm/setup.sh" >&2; exit 77; }

timeout -k 5 "$TIMEOUT" "${QEMU[@]}" </dev/null >"$WORK/console.log" 2>&1 &
QPID=$!

# Stream CMD's output as the guest writes it (the share is cache=none).
tail -n +1 -s 0.2 -f --pid="$QPID" "$SHARE/stdout" &
TAILS+=($!)
tail -n +1 -s 0.2 -f --pid="$QPID" "$SHARE/stderr" >&2 &
TAILS+=($!)
if [[ $VERBOSE == 1 ]]; then
	tail -n +1 -s 0.2 -f --pid="$QPID" "$WORK/console.log" | sed -u 's/^/vm: console: /' >&2 &
	TAILS+=($!)
fi

qrc=0
wait "$QPID" || qrc=$?
QPID=
for p in "${TAILS[@]}"; do wait "$p" 2>/dev/null || true; done
TAILS=()
T1=$(date +%s.%N)

show_console() {
	[[ $VERBOSE == 1 ]] && return 0
	echo "vm: last lines of the guest console:" >&2
	tail -n 30 "$WORK/console.log" | sed 's/^/vm: console: /' >&2
}

if [[ $TIMING == 1 ]]; then
	start=$(sed -n 's/^cmd_start //p' "$SHARE/timing" 2>/dev/null || true)
	end=$(sed -n 's/^cmd_end //p' "$SHARE/timing" 2>/dev/null || true)
	awk -v t0="$T0" -v t1="$T1" -v s="${start:-0}" -v e="${end:-0}" 'BEGIN {
		printf "vm: timing: total %.2f s; guest uptime at CMD start %.2f s; CMD ran %.2f s\n", t1 - t0, s, (e > s ? e - s : 0)
	}' >&2
fi

if ((qrc == 124 || qrc == 137)); then
	show_console
	fail "timeout: the VM did not finish within $TIMEOUT s and was killed"
fi
if [[ ! -f $SHARE/status ]]; then
	show_console
	if ((qrc != 0)); then
		fail "qemu exited with status $qrc and CMD reported no exit status"
	fi
	fail "the guest reported no exit status for CMD (guest panic or init failure?)"
fi
rc=$(cat "$SHARE/status")
[[ $rc =~ ^[0-9]+$ ]] || fail "bad exit status file content: '$rc'"
if ((qrc != 0)); then
	echo "vm: warning: qemu exited with status $qrc after CMD finished" >&2
	show_console
fi
exit "$rc"
