#!/usr/bin/env bash
# Build the Debian packages (debian/) out of a copy of the tree, so that
# the tree gets no build artifacts: tools/build-deb.sh OUT_DIR [dpkg-buildpackage options]
# The .debs, .buildinfo and .changes land in OUT_DIR (.ci/run runs lintian on them).
# Needs dpkg-dev, debhelper, fakeroot and the Build-Depends of debian/control
# (`apt-get build-dep ./` installs them).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:?usage: build-deb.sh OUT_DIR [OPTIONS]}" && cd "$1" && pwd)
shift
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/vfio-cuse"
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# The files git knows (tracked, or new and not ignored) that exist.
	# OUT_DIR, when inside the tree, is left out.
	(cd "$src" && git ls-files -z -co --exclude-standard | while IFS= read -r -d '' f; do
		case $src/$f in "$out"/*) continue ;; esac
		[ -e "$f" ] && printf '%s\0' "$f"
	done | xargs -0 cp --parents -a -t "$work/vfio-cuse")
else
	# No git: everything but build directories.
	tar -C "$src" --exclude='./build*' --exclude='./b-*' -cf - . | tar -C "$work/vfio-cuse" -xf -
fi
[ -f "$work/vfio-cuse/debian/control" ] || { echo "build-deb: no debian/ copied" >&2; exit 1; }
(cd "$work/vfio-cuse" && dpkg-buildpackage -b -us -uc "$@")
cp "$work"/*.deb "$work"/*.buildinfo "$work"/*.changes "$out"/
echo "build-deb: $(cd "$out" && printf '%s ' ./*.deb)" >&2
