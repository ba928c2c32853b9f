#!/usr/bin/env bash
# systemd-analyze verify the service unit, with ExecStart pointed at the
# binary just built (verify checks that it exists). Skips (77) without
# systemd-analyze.
set -euo pipefail
src=$1 cused=$2
command -v systemd-analyze >/dev/null || { echo "no systemd-analyze: skipping"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s|^ExecStart=/usr/sbin/vfio-cused|ExecStart=$cused|" "$src/systemd/vfio-cused.service" \
	>"$tmp/vfio-cused.service"
out=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "$tmp/vfio-cused.service" 2>&1) || {
	echo "$out"; exit 1; }
# verify prints problems without failing for some: treat any line about our unit as one.
if grep -q "vfio-cused.service" <<<"$out"; then
	echo "$out"
	exit 1
fi
# The udev rules: every line is a comment or KEY op "VALUE" pairs.
awk '/^[[:space:]]*(#|$)/ { next }
     { n = split($0, parts, /, */)
       for (i = 1; i <= n; i++)
         if (parts[i] !~ /^[A-Z_]+(\{[^}]*\})?(==|!=|=|\+=)"[^"]*"$/) { print FILENAME ":" NR ": " parts[i]; bad = 1 } }
     END { exit bad }' "$src/systemd/70-vfio-cuse.rules"
echo "systemd unit and udev rules: ok"
