#!/usr/bin/env bash
# Install what is missing, build, and run every test (meson test): the
# reference suite, the device suite on the default OpenCL device (PoCL on a
# machine without a GPU), and the reader/writer tests. Extra arguments go to
# meson test (e.g. --suite, a test name).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tools/deps.sh"
gancl_install_deps "${GANCL_TEST_PACKAGES[@]}"
gancl_build
rc=0
meson test -C "$top/build" --print-errorlogs "$@" || rc=$?
python3 - "$top/build/meson-logs/testlog.json" <<'PY'
import json, sys
res = [json.loads(l)["result"] for l in open(sys.argv[1]) if l.strip()]
ok = sum(r in ("OK", "EXPECTEDFAIL") for r in res)
skip = sum(r == "SKIP" for r in res)
print(f"{ok} passed, {len(res) - ok - skip} failed, {skip} skipped")
PY
exit $rc
