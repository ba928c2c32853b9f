#!/usr/bin/env bash
# `meson install --destdir` into a temporary directory, then check that
# every file of docs/install.md is there, where meson's options and
# pkg-config (systemd.pc, udev.pc) say, and nothing else; that the
# programs print the project's version; that the daemon's default helper,
# the launcher's default library and the unit's ExecStart and --config
# name files of the same tree; that the unit passes systemd-analyze verify
# with those paths; that the configuration is kept on a second install.
# Usage: test-install.sh BUILD_DIR SOURCE_DIR
# Exit 77 (skip) without meson, python3 or pkg-config's systemd and udev.
set -euo pipefail
build=$1 src=$2
for t in meson python3; do
	command -v $t >/dev/null || { echo "SKIP: no $t here"; exit 77; }
done
fail=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fail=1; }

opt() { # NAME: a meson option's value in $build
	meson introspect --buildoptions "$build" |
		python3 -c 'import json, sys
print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == sys.argv[1]))' "$1"
}
abs() { case $2 in /*) echo "$2" ;; *) echo "$1/$2" ;; esac; }
pc() { # MODULE VARIABLE
	pkg-config --variable="$2" "$1" 2>/dev/null || true
}

prefix=$(opt prefix)
version=$(meson introspect --projectinfo "$build" |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
bindir=$(abs "$prefix" "$(opt bindir)")
sbindir=$(abs "$prefix" "$(opt sbindir)")
mandir=$(abs "$prefix" "$(opt mandir)")
libdir=$(abs "$prefix" "$(opt libdir)")
libexecdir=$(abs "$prefix" "$(opt libexecdir)")
sysconfdir=$(abs "$prefix" "$(opt sysconfdir)")
docdir=$(abs "$prefix" "$(opt datadir)")/doc/vfio-cuse
unitdir=$(opt systemdsystemunitdir)
[ -n "$unitdir" ] || unitdir=$(pc systemd systemdsystemunitdir)
sysusersdir=$(opt sysusersdir)
[ -n "$sysusersdir" ] || sysusersdir=$(pc systemd sysusersdir)
udevrulesdir=$(opt udevrulesdir)
if [ -z "$udevrulesdir" ] && [ -n "$(pc udev udevdir)" ]; then
	udevrulesdir=$(pc udev udevdir)/rules.d
fi
if [ -z "$unitdir" ] || [ -z "$sysusersdir" ] || [ -z "$udevrulesdir" ]; then
	echo "SKIP: no systemd.pc or udev.pc here (packages systemd, udev), so the unit," \
		"sysusers.d file or udev rules are not installed"
	exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
D=$tmp/root
meson install -C "$build" --no-rebuild --quiet --destdir "$D" >"$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log"; echo "FAIL: meson install"; exit 1; }

# Every file, and nothing more.
exe=("$sbindir/vfio-cused" "$sbindir/vfio-cusectl" "$libexecdir/vfio-cuse-helper"
	"$bindir/vfio-cuse-run")
data=("$libdir/libvfio-cuse-preload.so" "$unitdir/vfio-cused.service"
	"$udevrulesdir/70-vfio-cuse.rules" "$sysusersdir/vfio-cuse.conf"
	"$sysconfdir/vfio-cused.conf" "$docdir/examples/vfio-cused.conf.example"
	"$mandir/man8/vfio-cused.8" "$mandir/man8/vfio-cusectl.8" "$mandir/man8/vfio-cuse-helper.8"
	"$mandir/man1/vfio-cuse-run.1")
# Every document of the tree.
data+=("$docdir/README.md")
for d in "$src"/docs/*.md; do
	data+=("$docdir/${d##*/}")
done
printf '%s\n' "${exe[@]}" "${data[@]}" | sort >"$tmp/want"
(cd "$D" && find . -type f -o -type l) | sed 's|^\.||' | sort >"$tmp/got"
if diff -u --label expected --label installed "$tmp/want" "$tmp/got" >"$tmp/diff"; then
	ok "$(wc -l <"$tmp/got") files installed, each where expected"
else
	bad "installed files differ from the expected list:"
	cat "$tmp/diff"
fi
for f in "${exe[@]}"; do
	[ -x "$D$f" ] || bad "$f is not executable"
done
for f in "${data[@]}"; do
	m=$(stat -c %a "$D$f" 2>/dev/null || echo missing)
	case $f in *.so) want=755 ;; *) want=644 ;; esac
	[ "$m" = "$want" ] || bad "$f: mode $m, want $want"
done

# Versions.
for p in "$sbindir/vfio-cused" "$sbindir/vfio-cusectl" "$bindir/vfio-cuse-run"; do
	v=$("$D$p" --version 2>&1 || true)
	[ "$v" = "${p##*/} $version" ] && ok "$p --version: $v" ||
		bad "$p --version: '$v', want '${p##*/} $version'"
done

# The daemon's default helper, the launcher's default library.
h=$("$D$sbindir/vfio-cused" --help | sed -n 's/.*--helper PATH .*(default \(.*\))$/\1/p')
[ "$h" = "$libexecdir/vfio-cuse-helper" ] && [ -x "$D$h" ] &&
	ok "the daemon's default helper $h is installed" ||
	bad "the daemon's default helper '$h', want $libexecdir/vfio-cuse-helper in the tree"
l=$("$D$bindir/vfio-cuse-run" --help | sed -n '/--preload PATH/{n;s/^ *//p}')
[ "$l" = "$libdir/libvfio-cuse-preload.so" ] && [ -f "$D$l" ] &&
	ok "the launcher's default library $l is installed" ||
	bad "the launcher's default library '$l', want $libdir/libvfio-cuse-preload.so in the tree"

# The unit: ExecStart runs the installed daemon on the installed configuration.
unit=$D$unitdir/vfio-cused.service
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
read -r -a argv <<<"$exec_start"
if [ "${argv[0]}" = "$sbindir/vfio-cused" ] && [ "${argv[1]:-}" = --config ] &&
	[ "${argv[2]:-}" = "$sysconfdir/vfio-cused.conf" ] && [ ${#argv[@]} -eq 3 ]; then
	ok "ExecStart=$exec_start"
else
	bad "ExecStart=$exec_start: want $sbindir/vfio-cused --config $sysconfdir/vfio-cused.conf"
fi
grep -q "^Documentation=file://$docdir/daemon.md$" "$unit" && [ -f "$D$docdir/daemon.md" ] ||
	bad "the unit's Documentation= is not $docdir/daemon.md"
if grep -n '/usr/\|/etc/' "$unit" | grep -v "$sbindir/\|$sysconfdir/\|$libexecdir/\|$docdir/" >"$tmp/paths"; then
	bad "the unit names paths outside this install: $(cat "$tmp/paths")"
fi
if ! command -v systemd-analyze >/dev/null; then
	echo "SKIP (part): no systemd-analyze here: the unit is not verified"
else
	# verify looks for ExecStart's program on /: point it into the tree.
	sed "s|^ExecStart=$sbindir/|ExecStart=$D$sbindir/|" "$unit" >"$tmp/vfio-cused.service"
	if out=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no \
		"$tmp/vfio-cused.service" 2>&1) && ! grep -q "vfio-cused" <<<"$out"; then
		ok "systemd-analyze verify: the installed unit, with ExecStart in the tree"
	elif grep -qi "Failed to .*connect\|not been booted with systemd\|System has not" <<<"$out"; then
		echo "SKIP (part): systemd-analyze verify does not work here: $out"
	else
		bad "systemd-analyze verify: $out"
	fi
fi

# The configuration: the daemon parses it (--help after --config exits
# before anything starts), it never serves /dev/vfio, and no rule of the
# udev rules is malformed.
conf=$D$sysconfdir/vfio-cused.conf
if "$D$sbindir/vfio-cused" --config "$conf" --help >/dev/null 2>"$tmp/conf.err"; then
	ok "vfio-cused parses $sysconfdir/vfio-cused.conf"
else
	bad "vfio-cused rejects $sysconfdir/vfio-cused.conf: $(cat "$tmp/conf.err")"
fi
p=$(sed -n 's/^prefix[[:space:]]\+\([^[:space:]#]*\).*/\1/p' "$conf")
[ -n "$p" ] && [ "$p" != vfio ] && ok "the configuration serves /dev/$p, not /dev/vfio" ||
	bad "the configuration's prefix is '$p': it must not be vfio (the kernel's)"
awk '/^[[:space:]]*(#|$)/ { next }
     { n = split($0, parts, /, */)
       for (i = 1; i <= n; i++)
         if (parts[i] !~ /^[A-Z_]+(\{[^}]*\})?(==|!=|=|\+=)"[^"]*"$/) { print FILENAME ":" NR ": " parts[i]; bad = 1 } }
     END { exit bad }' "$D$udevrulesdir/70-vfio-cuse.rules" && ok "udev rules: well formed" ||
	bad "udev rules: malformed"
if command -v systemd-sysusers >/dev/null; then
	mkdir -p "$tmp/sysroot/etc"
	if out=$(systemd-sysusers --dry-run --root="$tmp/sysroot" "$D$sysusersdir/vfio-cuse.conf" 2>&1) &&
		grep -q "Creating user 'vfio-cuse'" <<<"$out"; then
		ok "sysusers.d: creates the user vfio-cuse"
	else
		bad "sysusers.d: $out"
	fi
else
	echo "SKIP (part): no systemd-sysusers here: the sysusers.d file is not tried"
fi

# A second install keeps an edited configuration and replaces the rest.
echo "# edited" >>"$conf"
echo "# edited" >>"$unit"
meson install -C "$build" --no-rebuild --quiet --destdir "$D" >"$tmp/install2.log" 2>&1 ||
	{ cat "$tmp/install2.log"; bad "second meson install"; }
if [ "$(tail -n 1 "$conf")" = "# edited" ] && [ "$(tail -n 1 "$unit")" != "# edited" ]; then
	ok "a second install keeps the edited configuration (and replaces the unit)"
else
	bad "a second install overwrote the configuration, or kept the unit"
fi

[ $fail -eq 0 ] && echo "install: ok" || echo "install: FAILED"
exit $fail
