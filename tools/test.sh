#!/usr/bin/env bash
# The whole test suite: unit tests (and, in plain mode only, the script
# tests of suite 'scripts') plainly, under ASan+UBSan, and under
# valgrind, then the tests that need the test VM (a real kernel with CUSE
# and VFIO under QEMU/TCG; they skip with 77 where it cannot run).
# Usage: tools/test.sh [plain|sanitize|valgrind|vm]...  (default: all)
# Prints one closing line: "tests: N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh

modes=("$@")
[ "${#modes[@]}" -gt 0 ] || modes=(plain sanitize valgrind vm)

passed=0 failed=0 skipped=0 status=0

# Count results of the last meson test run in build dir $1.
count() {
	local log p f s
	log=$(ls -t "$1"/meson-logs/testlog*.json | head -n 1)
	read -r p f s < <(python3 - "$log" <<'PY'
import json, sys
p = f = s = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"): p += 1
    elif r == "SKIP": s += 1
    else: f += 1
print(p, f, s)
PY
)
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}

# VM tests are scripts: 0 pass, 77 skip (no VM here), anything else fails.
# e2e-daemon.sh reports its own checks ("guest: N passed, M failed").
ensure_build() { # DIR [MESON-OPTIONS...]
	local dir=$1
	shift
	if [ ! -f "$dir/build.ninja" ]; then
		rm -rf "$dir"
		meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 ||
			{ cat "$dir.setup.log" >&2; exit 1; }
	fi
	meson compile -C "$dir" >/dev/null
}

run_vm() {
	local rc out
	echo "test: === vm ===" >&2
	ensure_build build
	rc=0
	tests/vm/check-vm.sh || rc=$?
	vm_count "tests/vm/check-vm.sh" "$rc" 1 0
	[ "$rc" -eq 77 ] && return
	rc=0
	out=$(tests/vm/e2e-daemon.sh build 2>&1) || rc=$?
	echo "$out" | grep -vE '^<[4-7]>' >&2
	local p f
	p=$(echo "$out" | sed -n 's/^guest: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
	f=$(echo "$out" | sed -n 's/^guest: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
	vm_count "tests/vm/e2e-daemon.sh" "$rc" "${p:-0}" "${f:-1}"
}

vm_count() { # NAME STATUS PASSED FAILED
	case "$2" in
	0) passed=$((passed + $3)); echo "test: $1: ok ($3 checks)" >&2 ;;
	77) skipped=$((skipped + 1)); echo "test: $1: SKIP" >&2 ;;
	*) passed=$((passed + $3)) failed=$((failed + ($4 > 0 ? $4 : 1))) status=1
	   echo "test: $1: FAIL ($2)" >&2 ;;
	esac
}

run_mode() {
	local mode="$1" dir opts=() wrap=()
	case "$mode" in
	vm) run_vm; return ;;
	plain) dir=build ;;
	sanitize)
		dir=build-sanitize
		opts=(-Db_sanitize=address,undefined -Db_lundef=false)
		wrap=(--no-suite scripts)
		export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
		export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
		;;
	valgrind)
		dir=build
		wrap=(--no-suite scripts --wrap "valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect --track-fds=no")
		;;
	*) echo "test: unknown mode '$mode'" >&2; exit 2 ;;
	esac
	ensure_build "$dir" "${opts[@]}"
	echo "test: === $mode ===" >&2
	if ! meson test -C "$dir" --print-errorlogs --num-processes 2 "${wrap[@]}" \
		--timeout-multiplier "$([ "$mode" = valgrind ] && echo 10 || echo 1)"; then
		status=1
	fi
	count "$dir"
	unset ASAN_OPTIONS UBSAN_OPTIONS
}

for m in "${modes[@]}"; do
	run_mode "$m"
done
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit "$status"
