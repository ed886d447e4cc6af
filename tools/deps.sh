#!/usr/bin/env bash
# Install the Debian packages gancl needs to build and run, when missing.
# Sourced by tools/run.sh and tools/test.sh; safe to run again.
set -euo pipefail

GANCL_PACKAGES=(gcc pkg-config meson ninja-build python3
  ocl-icd-opencl-dev opencl-c-headers pocl-opencl-icd clinfo
  libclblast-dev zlib1g-dev libstb-dev libjansson-dev
  liblapacke-dev
  g++)

# What the tests need beyond that (tools/test.sh): clang-14 compiles the
# kernels for GPU targets (cl-gpu-targets), Open MPI runs the data-parallel
# tests (MPI is found at configure time), PyTorch checks checkpoint interop.
GANCL_TEST_PACKAGES=(clang-14 libopenmpi-dev openmpi-bin python3-torch)

gancl_install_deps() {
  local missing=() p
  for p in "${GANCL_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  GANCL_INSTALLED=1
  echo "gancl: installing ${missing[*]}" >&2
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "gancl: need root (or sudo) to install: ${missing[*]}" >&2; return 1; }
    sudo=sudo
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Configure (once) and build into build/.
gancl_build() {
  local top
  top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  if [ ! -f "$top/build/build.ninja" ]; then
    meson setup "$top/build" "$top" >/dev/null
  elif [ -n "${GANCL_INSTALLED:-}" ]; then
    # packages just installed may be optional dependencies (MPI)
    meson setup --reconfigure "$top/build" "$top" >/dev/null
  fi
  ninja -C "$top/build" >/dev/null
}
