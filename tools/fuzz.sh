#!/usr/bin/env bash
# Fuzzing campaigns: build the libFuzzer harnesses of tests/fuzz/ with clang
# into build-fuzz/ (-Dfuzz=enabled: everything instrumented with
# -fsanitize=fuzzer-no-link,address,undefined), then run each one for
# SECONDS from its committed seed corpus (tests/fuzz/corpus/<harness>/, read
# only) plus a working corpus of its own (build-fuzz/fuzz-corpus/<harness>/,
# kept between runs). Reports runs, exec/s and CPU time (user+sys, the
# devices' threads included) per harness; a crash, leak, sanitizer report
# or timeout fails the script, and its input is kept as
# build-fuzz/fuzz-artifacts/<harness>-crash-* (replay: build-fuzz/tests/fuzz/<harness> FILE).
# Usage: tools/fuzz.sh [SECONDS] [HARNESS...]   (default: 60, every harness)
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-60}
[[ $secs =~ ^[0-9]+$ ]] || { echo "usage: tools/fuzz.sh [SECONDS] [HARNESS...]" >&2; exit 2; }
shift $(($# > 0 ? 1 : 0))
harnesses=("$@")
if [ ${#harnesses[@]} -eq 0 ]; then
	for d in tests/fuzz/corpus/*/; do harnesses+=("$(basename "$d")"); done
fi
for h in "${harnesses[@]}"; do
	[ -d "tests/fuzz/corpus/$h" ] || { echo "fuzz: no harness '$h' (tests/fuzz/corpus/$h/)" >&2; exit 2; }
done
command -v clang >/dev/null ||
	{ echo "fuzz: clang is missing (Debian 12: apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }

dir=build-fuzz
if [ ! -f "$dir/build.ninja" ]; then
	rm -rf "$dir"
	CC=clang meson setup "$dir" -Dfuzz=enabled -Dtests=disabled >"$dir.setup.log" 2>&1 ||
		{ cat "$dir.setup.log" >&2; exit 1; }
fi
meson compile -C "$dir" "${harnesses[@]}" >/dev/null

mkdir -p "$dir/fuzz-artifacts"
status=0
for h in "${harnesses[@]}"; do
	exe=$dir/tests/fuzz/$h
	seeds=tests/fuzz/corpus/$h
	work=$dir/fuzz-corpus/$h
	log=$dir/fuzz-artifacts/$h.log
	[ -x "$exe" ] && [ -d "$seeds" ] || { echo "fuzz: no harness '$h'" >&2; exit 2; }
	mkdir -p "$work"
	echo "fuzz: $h: ${secs} s from $(ls "$seeds" | wc -l) seeds" >&2
	# CPU time of the harness and all its threads, from getrusage.
	rc=0
	cpu=$(python3 - "$exe" "$log" -max_total_time="$secs" -timeout=30 -rss_limit_mb=4096 \
		-print_final_stats=1 -artifact_prefix="$dir/fuzz-artifacts/$h-" "$work" "$seeds" <<'PY'
import resource, subprocess, sys
with open(sys.argv[2], 'w') as log:
    rc = subprocess.call([sys.argv[1]] + sys.argv[3:], stdout=log, stderr=subprocess.STDOUT)
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print('%.1f %d' % (ru.ru_utime + ru.ru_stime, rc))
PY
) || true
	read -r cpu rc <<<"$cpu"
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
	if [ "$rc" = 0 ]; then
		echo "fuzz: $h: ok: ${runs:-?} runs, ${eps:-?} exec/s, ${cpu:-?} s CPU, ${cov:-cov: ?}" >&2
	else
		status=1
		echo "fuzz: $h: FAIL (exit ${rc:-?}) after ${runs:-?} runs, ${cpu:-?} s CPU; log $log" >&2
		grep -E -A30 '^==[0-9]+==ERROR|runtime error|^SUMMARY|deadly signal|timeout after' "$log" |
			head -60 >&2 || tail -40 "$log" >&2
		ls "$dir"/fuzz-artifacts/"$h"-* 2>/dev/null | grep -v '\.log$' >&2 || true
	fi
done
exit "$status"
