#!/bin/sh
# meson install script: install-conf.sh SOURCE TARGET
# Puts vfio-cused's configuration at $DESTDIR/TARGET, mode 0644, unless a
# file is already there: an administrator's configuration is never
# overwritten (docs/install.md). A Debian package build installs into an
# empty DESTDIR, and dpkg then keeps the file as a conffile.
set -eu
src=$1
dst=${DESTDIR:-}$2
if [ -n "${MESON_INSTALL_DRY_RUN:-}" ]; then
	echo "Would install $src to $dst unless it exists" >&2
	exit 0
fi
if [ -e "$dst" ] || [ -L "$dst" ]; then
	echo "Keeping $dst (it exists; the new default is $src)" >&2
	exit 0
fi
mkdir -p "$(dirname "$dst")"
cp "$src" "$dst.tmp.$$"
chmod 0644 "$dst.tmp.$$"
mv "$dst.tmp.$$" "$dst"
echo "Installing $src to $dst" >&2
