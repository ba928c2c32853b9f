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

# VM tests are scripts, each a test: 0 pass, 77 skip, anything else fails.
run_vm() {
	local t rc
	echo "test: === vm ===" >&2
	for t in tests/vm/check-vm.sh; do
		rc=0
		"$t" || rc=$?
		case "$rc" in
		0) passed=$((passed + 1)); echo "test: $t: ok" >&2 ;;
		77) skipped=$((skipped + 1)); echo "test: $t: SKIP" >&2 ;;
		*) failed=$((failed + 1)) status=1; echo "test: $t: FAIL ($rc)" >&2 ;;
		esac
	done
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
	if [ ! -f "$dir/build.ninja" ]; then
		rm -rf "$dir"
		meson setup "$dir" "${opts[@]}" >"$dir.setup.log" 2>&1 ||
			{ cat "$dir.setup.log" >&2; exit 1; }
	fi
	meson compile -C "$dir" >/dev/null
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
