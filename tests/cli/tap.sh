# Sourced by the tests/cli scripts (arguments GANCL MAKE_IDX): a temporary
# directory removed on exit, the TAP `check NAME STATUS` helper, `tap_end`,
# `interrupt`, the backends to run on ($devices: cpu, plus the OpenCL
# device when there is one), and a tiny 48-image synthetic MNIST in
# $tmp/data (labels i % 10).
gancl=$1 make_idx=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0 n=0
check() { # check NAME CONDITION-EXIT-STATUS
  n=$((n + 1))
  if [ "$2" -eq 0 ]; then echo "ok $n - $1"; else echo "not ok $n - $1"; fails=$((fails + 1)); fi
}
tap_end() {
  echo "1..$n"
  [ $fails -eq 0 ]
}
python3 "$make_idx" "$tmp/data" 48 || { echo "Bail out! cannot make fixtures"; exit 1; }
devices=(cpu)
if "$gancl" devices | grep -q '^[0-9]*:[0-9]'; then devices+=("${GANCL_DEVICE:-0:0}"); fi
interrupt() { # interrupt LOG COMMAND...: run it, Ctrl-C it after its second step; exit status in $rc
  local log=$1
  shift
  "$@" >"$log" 2>&1 &
  local pid=$!
  for _ in $(seq 600); do grep -q "step 2/" "$log" 2>/dev/null && break; sleep 0.1; done
  kill -INT $pid
  wait $pid
  rc=$?
}
