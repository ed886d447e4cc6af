# Sourced by the tests/cli scripts (arguments GANCL MAKE_IDX): a temporary
# directory removed on exit, the TAP `check NAME STATUS` helper, `tap_end`,
# and a tiny 48-image synthetic MNIST in $tmp/data (labels i % 10).
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
