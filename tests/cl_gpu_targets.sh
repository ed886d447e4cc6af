#!/bin/sh
# The kernel program as a GPU driver's compiler sees it, checked without a
# GPU: every cl/*.cl in the runtime's order (the arguments, meson's
# cl_files), joined the way src/ocl/program.c's program_text joins them
# (`#line 1 "NAME"` before each file, a newline after it) and compiled with
# the runtime's options (-cl-std=CL1.2) by clang-14 down to machine code for
# an NVIDIA target (nvptx64-nvidia-nvcl, what NVIDIA's OpenCL compiles
# through) and an AMD one (amdgcn gfx900). Any error fails, and so does any
# warning that matters on GPUs:
#   -cl-ext=-all          no extension assumed, cl_khr_fp64 included: a
#                         double anywhere is an error, a double constant a
#                         warning (many GPUs and llvmpipe have no fp64; on
#                         NVIDIA's consumer cards it runs at 1/32 speed);
#   -Wdouble-promotion, -Wconversion minus -Wsign-conversion: implicit
#                         float <-> double and 64 -> 32 bit conversions
#                         (size_t is 64-bit there: get_global_id(0) into an
#                         int needs a cast that says so);
#   -Wall -Wextra         uninitialised values and the like (unused
#                         parameters are allowed).
# A canary program with a double constant and a 64 -> 32 bit truncation
# must be rejected, so a flag that stops working fails the test too.
# TAP output; skips (77) only when clang-14 is not installed.
# CLANG=path overrides the compiler.
clang=${CLANG:-clang-14}
if ! command -v "$clang" >/dev/null 2>&1; then
  echo "1..0 # SKIP $clang not installed"
  exit 77
fi
[ $# -gt 0 ] || { echo "Bail out! usage: cl_gpu_targets.sh CL_FILE..."; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in "$@"; do
  printf '#line 1 "%s"\n' "$(basename "$f")"
  cat "$f" || exit 1
  printf '\n'
done >"$tmp/program.cl" || { echo "Bail out! cannot read the kernel sources"; exit 1; }

flags="-x cl -cl-std=CL1.2 -Xclang -finclude-default-header -Xclang -cl-ext=-all -O2
       -ferror-limit=0 -Werror -Wall -Wextra -Wno-unused-parameter -Wconversion -Wno-sign-conversion -Wdouble-promotion"
n=0 fails=0
# compile NAME FILE TARGET-FLAGS...: exit status of clang, diagnostics in $tmp/log
compile() {
  src=$2
  shift 2
  # shellcheck disable=SC2086
  "$clang" $flags "$@" -S -o "$tmp/out.s" "$src" >"$tmp/log" 2>&1
}
report() { # report NAME STATUS [expect-failure]
  n=$((n + 1))
  if [ "$2" -eq 0 ]; then
    echo "ok $n - $1"
  else
    echo "not ok $n - $1"
    fails=$((fails + 1))
  fi
}
for target in "nvptx64-nvidia-nvcl" "amdgcn-amd-amdhsa -mcpu=gfx900 -nogpulib"; do
  # shellcheck disable=SC2086
  compile program "$tmp/program.cl" -target $target
  st=$?
  if [ $st -ne 0 ]; then
    sed 's/^/# /' "$tmp/log" | head -200
  fi
  report "cl/ program for $target" $st
done

cat >"$tmp/canary.cl" <<'EOF'
__kernel void canary(__global float *x, int n)
{
    int i = get_global_id(0);
    if (i < n) x[i] = x[i] * 0.5;
}
EOF
compile canary "$tmp/canary.cl" -target nvptx64-nvidia-nvcl
st=$?
if [ $st -ne 0 ] && grep -q "double precision constant" "$tmp/log" && grep -q "Wshorten-64-to-32" "$tmp/log"; then
  report "canary: a double constant and an implicit 64 -> 32 bit conversion are rejected" 0
else
  sed 's/^/# /' "$tmp/log"
  report "canary: a double constant and an implicit 64 -> 32 bit conversion are rejected" 1
fi
echo "1..$n"
[ $fails -eq 0 ]
