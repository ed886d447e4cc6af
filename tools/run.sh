#!/usr/bin/env bash
# The quick start's main job: install what is missing, build, then run
#   gancl ARGS...        with arguments; without: list the devices, check the
#                        DCGAN layers on the default device against the cpu
#                        reference, and train the semi-supervised GAN with 100
#                        labels for 2 epochs (a few minutes on 2 CPU cores),
#                        which prints the test accuracy and where the sample
#                        grids and checkpoint are (runs/quickstart/, replaced
#                        on every run; train elsewhere to keep a run).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tools/deps.sh"
gancl_install_deps
gancl_build
if [ $# -gt 0 ]; then
  exec "$top/build/gancl" "$@"
fi
"$top/build/gancl" devices
echo
"$top/build/gancl" check
echo
exec "$top/build/gancl" train --mode semi --labels 100 --epochs 2 --outdir "$top/runs/quickstart" --overwrite
