#!/usr/bin/env bash
# `meson install` into a temporary DESTDIR, then a program outside the tree
# (two_steps.c) built with `pkg-config --cflags --libs gancl` against the
# installed headers, shared library and gancl.pc trains two DCGAN steps on a
# tiny synthetic dataset. Skips (77) only without pkg-config.
#   test_install.sh BUILD_DIR MAKE_IDX CC
set -u
build=$1 make_idx=$2 cc=$3
src=$(cd "$(dirname "$0")" && pwd)
command -v pkg-config >/dev/null || { echo "skip: no pkg-config"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
dest=$tmp/dest
meson install -C "$build" --no-rebuild --quiet --destdir "$dest" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log"; fail "meson install --destdir"; }
pc=$(find "$dest" -name gancl.pc | head -1)
[ -n "$pc" ] || fail "no gancl.pc installed"
test -n "$(find "$dest" -name 'libgancl.so*' | head -1)" || fail "no shared library installed"
for h in gancl ckpt classifier data eval features models nn semi train tune; do
  test -n "$(find "$dest" -path "*/include/gancl/$h.h")" || fail "header gancl/$h.h not installed"
done
export PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$dest
flags=$(pkg-config --cflags --libs gancl) || fail "pkg-config --cflags --libs gancl"
echo "pkg-config --cflags --libs gancl: $flags"
case $flags in *"$dest"*) ;; *) fail "flags do not point into the install: $flags" ;; esac
# shellcheck disable=SC2086
"$cc" -std=c11 -Wall -Werror=implicit-function-declaration -o "$tmp/two_steps" "$src/two_steps.c" $flags || fail "building two_steps.c against the install"
libdir=$(dirname "$(find "$dest" -name 'libgancl.so.*' | head -1)")
LD_LIBRARY_PATH=$libdir ldd "$tmp/two_steps" | grep "libgancl" | grep -q "$dest" ||
  fail "two_steps does not load the installed libgancl"
python3 "$make_idx" "$tmp/data" 48 || fail "make_idx"
LD_LIBRARY_PATH=$libdir "$tmp/two_steps" "$tmp/data" >"$tmp/out" 2>&1
rc=$?
cat "$tmp/out"
[ $rc -eq 0 ] || fail "two_steps exited $rc"
grep -Eq '^step 2: loss_d [0-9.]+ loss_g [0-9.]+$' "$tmp/out" || fail "no second step"
echo "ok: installed, built against gancl.pc, trained two steps"
