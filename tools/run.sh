#!/usr/bin/env bash
# The quick start's main job: install what is missing, build, then run
#   gancl ARGS...                       with arguments, or
#   gancl devices; gancl check          without (list the devices, then run
#                                       the DCGAN layers on the default
#                                       device against the cpu reference).
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
exec "$top/build/gancl" check
