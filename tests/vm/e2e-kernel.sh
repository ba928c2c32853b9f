#!/usr/bin/env bash
# tests/vm/e2e-kernel.sh: run vfio-e2e-client against the REAL kernel VFIO in
# the test VM and keep its transcript as the reference.
#
#   e2e-kernel.sh [--all-close-orders] [--client PATH] [--no-probe-abi] [RESULTS_DIR]
#
# Builds tests/vm/client/vfio-e2e-client with a plain `cc` into
# build/vm-e2e/ when it is missing or older than its sources (or uses
# --client PATH / $VFIO_E2E_CLIENT), boots the VM once and runs
#   vfio-e2e-client --group $VFIO_CUSE_EDU_GROUP --device $VFIO_CUSE_EDU_BDF --probe-abi
# inside it.  The transcript goes to RESULTS_DIR/kernel.txt (default
# build/vm-results/kernel.txt) and is printed.
#
# --all-close-orders  also run once per --close-order (cgd cdg gcd gdc dcg
#                     dgc), in the same boot, into RESULTS_DIR/kernel-close-ORDER.txt
# --no-probe-abi      leave out --probe-abi
#
# Exit status: the client's status (with --all-close-orders, the first
# non-zero one); 1 if the VM failed; 2 on bad usage; 77 if the test VM is not
# set up on this host.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
ORDERS=(cgd cdg gcd gdc dcg dgc)

# ---- guest side: e2e-kernel.sh --guest CLIENT RESULTS ALL PROBE
if [[ ${1:-} == --guest ]]; then
	client=$2 res=$3 all=$4 probe=$5
	args=(--group "${VFIO_CUSE_EDU_GROUP:?}" --device "${VFIO_CUSE_EDU_BDF:?}")
	if [[ $probe == 1 ]]; then
		args+=(--probe-abi)
	fi
	rc=0
	"$client" "${args[@]}" >"$res/kernel.txt" 2>"$res/kernel.stderr" || rc=$?
	if [[ $all == 1 ]]; then
		for o in "${ORDERS[@]}"; do
			r=0
			"$client" "${args[@]}" --close-order "$o" >"$res/kernel-close-$o.txt" \
				2>"$res/kernel-close-$o.stderr" || r=$?
			echo "e2e: close-order $o: exit status $r" >&2
			((rc != 0)) || rc=$r
		done
	fi
	exit "$rc"
fi

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

ALL=0
PROBE=1
CLIENT=${VFIO_E2E_CLIENT:-}
RESULTS=
while (($#)); do
	case $1 in
	--all-close-orders) ALL=1 ;;
	--no-probe-abi) PROBE=0 ;;
	--client) (($# >= 2)) || { echo "e2e: --client needs a path" >&2; exit 2; }; CLIENT=$2; shift ;;
	-h | --help) usage; exit 0 ;;
	-*) echo "e2e: unknown option '$1'" >&2; usage >&2; exit 2 ;;
	*) [[ -z $RESULTS ]] || { echo "e2e: only one RESULTS_DIR" >&2; exit 2; }; RESULTS=$1 ;;
	esac
	shift
done
RESULTS=${RESULTS:-$REPO/build/vm-results}
mkdir -p -- "$RESULTS"
RESULTS=$(cd "$RESULTS" && pwd)

# ---- the client binary
SRC=$HERE/client
SOURCES=("$SRC"/*.c "$SRC"/*.h)
if [[ -z $CLIENT ]]; then
	CLIENT=$REPO/build/vm-e2e/vfio-e2e-client
	stale=0
	if [[ ! -x $CLIENT ]]; then
		stale=1
	else
		for f in "${SOURCES[@]}"; do
			if [[ $f -nt $CLIENT ]]; then
				stale=1
			fi
		done
	fi
	if ((stale)); then
		mkdir -p -- "$(dirname "$CLIENT")"
		echo "e2e: building $CLIENT" >&2
		"${CC:-cc}" -std=gnu11 -O2 -g -D_GNU_SOURCE -Wall -Wextra -Werror \
			-Wno-missing-field-initializers -Wno-unused-parameter -Wshadow -Wformat=2 \
			-Wstrict-prototypes -o "$CLIENT.tmp" "$SRC"/*.c
		mv -- "$CLIENT.tmp" "$CLIENT"
	fi
fi
[[ -x $CLIENT ]] || { echo "e2e: $CLIENT is not executable" >&2; exit 1; }
CLIENT=$(cd "$(dirname "$CLIENT")" && pwd)/$(basename "$CLIENT")

rm -f -- "$RESULTS"/kernel.txt "$RESULTS"/kernel.stderr "$RESULTS"/kernel-close-*.txt \
	"$RESULTS"/kernel-close-*.stderr

# ---- run in the VM
rc=0
VFIO_CUSE_VM_KEEP_TMP=${VFIO_CUSE_VM_KEEP_TMP:+$VFIO_CUSE_VM_KEEP_TMP:}$CLIENT \
	"$HERE/run.sh" --timing --share-rw "$RESULTS" -- \
	"$HERE/e2e-kernel.sh" --guest "$CLIENT" "$RESULTS" "$ALL" "$PROBE" || rc=$?
if ((rc == 77)); then
	echo "e2e: the test VM is not set up here (tests/vm/setup.sh); skipping" >&2
	exit 77
fi
if [[ ! -s $RESULTS/kernel.txt ]]; then
	echo "e2e: no transcript came back (VM status $rc)" >&2
	exit $((rc ? rc : 1))
fi
cat -- "$RESULTS/kernel.txt"
if [[ -s $RESULTS/kernel.stderr ]]; then
	sed 's/^/e2e: client stderr: /' "$RESULTS/kernel.stderr" >&2
fi
echo "e2e: transcript saved to $RESULTS/kernel.txt" >&2
if ((ALL)); then
	for o in "${ORDERS[@]}"; do
		f=$RESULTS/kernel-close-$o.txt
		echo "e2e: close-order $o: $(tail -n 1 "$f" 2>/dev/null || echo 'no transcript') ($f)" >&2
	done
fi
exit "$rc"
