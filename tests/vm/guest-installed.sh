#!/bin/sh
# Runs INSIDE the test VM (tests/vm/e2e-installed.sh boots it): the
# INSTALLED vfio-cuse, as the package or `meson install` put it on the
# host, whose root the guest sees. The daemon runs as the installed unit
# says (its ExecStart line, its RuntimeDirectory, its configuration), and
# the installed vfio-cuse-run, found in PATH, runs the e2e client's full
# flow and QEMU's unmodified userspace NVMe driver against it. Only the
# client program comes from a build dir; the checks make sure nothing else
# does.
# Usage: guest-installed.sh UNIT CLIENT RESULTS_DIR BUILD_DIR
set -u
UNIT=$1 CLIENT=$2 R=$3 B=$4
pass=0
fail=0
ok() { echo "ok: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
finish() {
	echo "guest: $pass passed, $fail failed"
	[ $fail -eq 0 ]
	exit
}
under_build() { case $1 in "$B"/*) return 0 ;; esac; return 1; }

[ -f "$UNIT" ] || { bad "no installed unit $UNIT"; finish; }
exec_start=$(sed -n 's/^ExecStart=//p' "$UNIT")
rtdir=$(sed -n 's/^RuntimeDirectory=//p' "$UNIT")
rtmode=$(sed -n 's/^RuntimeDirectoryMode=//p' "$UNIT")
# shellcheck disable=SC2086 # ExecStart is split as systemd splits it (no quotes here)
set -- $exec_start
cused=$1
conf=
while [ $# -gt 0 ]; do
	[ "$1" = --config ] && conf=$2
	shift
done
if [ -x "$cused" ] && [ -f "$conf" ] && ! under_build "$cused"; then
	ok "the unit runs $exec_start"
else
	bad "the unit's ExecStart '$exec_start': no installed daemon or configuration"
	finish
fi
prefix=$(sed -n 's/^prefix[[:space:]]\{1,\}\([^[:space:]#]*\).*/\1/p' "$conf")
RUN=$(command -v vfio-cuse-run)
if [ -n "$RUN" ] && ! under_build "$RUN"; then
	ok "vfio-cuse-run in PATH: $RUN ($("$RUN" --version))"
else
	bad "no installed vfio-cuse-run in PATH ('$RUN')"
	finish
fi

# What systemd does before ExecStart: the runtime directory.
if [ -n "$rtdir" ]; then
	mkdir -p "/run/$rtdir"
	chmod "${rtmode:-0755}" "/run/$rtdir"
fi
# shellcheck disable=SC2086
$exec_start 2>"$R/installed-daemon.log" &
DAEMON=$!
i=0
while ! grep -q "vfio-cused: serving" "$R/installed-daemon.log" && [ $i -lt 200 ] &&
	kill -0 $DAEMON 2>/dev/null; do
	sleep 0.05
	i=$((i + 1))
done
if [ -c "/dev/$prefix/vfio" ] && [ -c "/dev/$prefix/26" ] && [ -c "/dev/$prefix/30" ]; then
	ok "the daemon serves /dev/$prefix (vfio, 26, 30), the kernel's /dev/vfio untouched"
else
	bad "the installed daemon did not come up"
	cat "$R/installed-daemon.log"
	finish
fi
exe=$(readlink /proc/$DAEMON/exe)
[ "$exe" = "$cused" ] && ok "the daemon process is $exe" || bad "the daemon process is '$exe'"
if [ -n "${VFIO_CUSE_EDU_GROUP:-}" ] && [ ! -c "/dev/vfio/$VFIO_CUSE_EDU_GROUP" ]; then
	bad "the kernel's /dev/vfio/$VFIO_CUSE_EDU_GROUP is gone"
fi

# The full flow of the `flow` test, once per close order's first and last.
lib=$("$RUN" -v -- true 2>&1 | sed -n 's/^vfio-cuse-run: LD_PRELOAD=//p')
if [ -f "$lib" ] && ! under_build "$lib"; then
	ok "the launcher preloads the installed $lib"
else
	bad "the launcher preloads '$lib'"
fi
for order in cgd dgc; do
	if "$RUN" --dev-prefix "$prefix" --sysfs-view -- "$CLIENT" --group 26 \
		--device 0000:06:0d.0 --no-mmap --close-order $order \
		>"$R/installed-flow-$order.txt" 2>"$R/installed-flow-$order.err"; then
		ok "full flow from the installed tree, close order $order"
	else
		bad "full flow from the installed tree, close order $order"
		grep FAIL "$R/installed-flow-$order.txt" | head -5
		tail -3 "$R/installed-flow-$order.err"
	fi
done

# An unmodified client of Debian's, as docs/install.md runs it.
if command -v qemu-img >/dev/null; then
	if timeout 120 "$RUN" --dev-prefix "$prefix" --sysfs-view -- \
		qemu-img info nvme://0000:06:11.0/1 >"$R/installed-nvme.txt" 2>&1 &&
		grep -q "virtual size: 16 MiB" "$R/installed-nvme.txt"; then
		ok "qemu-img info nvme://0000:06:11.0/1: $(grep 'virtual size' "$R/installed-nvme.txt")"
	else
		bad "qemu-img info nvme://0000:06:11.0/1"
		cat "$R/installed-nvme.txt"
	fi
else
	echo "SKIP: no qemu-img in this guest: the NVMe client is not run"
fi

# Nothing of the build dir in the daemon.
if grep -q "$B" /proc/$DAEMON/maps; then
	bad "the daemon maps files of $B"
fi
kill $DAEMON
wait $DAEMON
rc=$?
[ $rc -eq 0 ] && ok "SIGTERM: the daemon exits 0" || bad "SIGTERM: the daemon exits $rc"
if grep -q '^<[0-3]>' "$R/installed-daemon.log"; then
	echo "daemon errors:"
	grep '^<[0-3]>' "$R/installed-daemon.log" | head
fi

# `user vfio-cuse`, as the configuration's comment suggests: the user that
# sysusers.d created, and the daemon's default helper, which must be the
# installed one.
if id vfio-cuse >/dev/null 2>&1; then
	# shellcheck disable=SC2086
	$exec_start --user vfio-cuse 2>"$R/installed-user.log" &
	DAEMON=$!
	i=0
	while ! grep -q "running as user" "$R/installed-user.log" && [ $i -lt 200 ] &&
		kill -0 $DAEMON 2>/dev/null; do
		sleep 0.05
		i=$((i + 1))
	done
	uid=$(awk '/^Uid:/ { print $2 }' /proc/$DAEMON/status 2>/dev/null)
	helper=
	for p in /proc/[0-9]*; do
		[ "$(awk '/^PPid:/ { print $2 }' "$p/status" 2>/dev/null)" = $DAEMON ] &&
			helper=$(readlink "$p/exe")
	done
	if [ "$uid" = "$(id -u vfio-cuse)" ] && [ -n "$helper" ] && ! under_build "$helper" &&
		grep -q "privileged operations go through $helper" "$R/installed-user.log"; then
		ok "user vfio-cuse: the daemon runs as uid $uid, its helper is $helper"
	else
		bad "user vfio-cuse: uid '$uid', helper '$helper'"
		cat "$R/installed-user.log"
	fi
	kill $DAEMON
	wait $DAEMON
else
	echo "SKIP: no user vfio-cuse (the package creates it; after meson install, systemd-sysusers does)"
fi
finish
