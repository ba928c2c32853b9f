#!/usr/bin/env bash
# Make sure the Debian 12 packages vfio-cuse builds and tests with are
# installed. As root, missing ones are installed with apt-get; otherwise
# the command to run is printed. Usage: tools/deps.sh [--update]
set -euo pipefail

PACKAGES=(
	gcc libc6-dev pkg-config meson ninja-build linux-libc-dev
	libcmocka-dev libfuse3-dev libpci-dev libudev-dev
	valgrind python3 systemd udev
)

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ "${#missing[@]}" -eq 0 ] && [ "${1:-}" != "--update" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]}" >&2
	echo "deps: run as root: apt-get update && apt-get install -y --no-install-recommends ${PACKAGES[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "deps: installing ${PACKAGES[*]}" >&2
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
