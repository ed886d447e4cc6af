#!/usr/bin/env bash
# Build every libFuzzer target fuzz/fuzz_*.c with clang (ASan + UBSan) against
# the few library sources it needs, and run each for a while, seeded from the
# regression corpus tests/io/corpus (copied, so the repository's corpus is
# never modified). Fails (non-zero) when a target crashes, leaks, times out or
# does not build; crash inputs are kept under $FUZZ_OUT/artifacts. Worth adding
# each crash input to tests/io/corpus once it is fixed.
#
#   tools/fuzz.sh [SECONDS] [TARGET...]     (default 60 s each, all targets)
#
# Environment: CC (default clang-14, then clang), FUZZ_OUT (default
# build-fuzz/, the binaries, logs and artifacts). Needs clang's libFuzzer:
#   apt-get install -y clang-14 libclang-rt-14-dev
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
[ $# -gt 0 ] && shift
case $secs in
'' | *[!0-9]*) echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 2 ;;
esac

# Library sources and link flags per target: only what its parser needs, so
# every sanitized line is one the fuzzer can reach. A new target adds a line.
sources_for() {
    case $1 in
    fuzz_safetensors) echo "src/io/safetensors.c src/io/safetensors_write.c src/io/ckpt.c src/io/ckpt_compat.c src/io/ckpt_import.c" ;;
    fuzz_idx) echo "src/io/idx.c" ;;
    *) return 1 ;;
    esac
}
libs_for() {
    case $1 in
    fuzz_safetensors) echo "-ljansson -lz" ;;
    fuzz_idx) echo "-lz" ;;
    *) return 1 ;;
    esac
}
# Seeds (a glob in tests/io/corpus, or corpus_idx for IDX), and a dictionary
# of the format's tokens.
seeds_for() {
    case $1 in
    fuzz_safetensors) echo "*.st" ;;
    fuzz_idx) echo "*.idx *.idx.gz" ;;
    *) echo "*" ;;
    esac
}
dict_for() {
    case $1 in
    fuzz_safetensors)
        printf '%s\n' '"__metadata__"' '"dtype"' '"shape"' '"data_offsets"' '"format"' \
            '"format_version"' '"crc32"' '"gancl-ckpt"' '"F32"' '"I32"' '"I64"' '"U8"' '"BF16"' \
            '"F64"' '"\\\""' '"{"' '"}"' '"["' '"]"' '":"' '","' '"\\u0000"' '"18446744073709551615"'
        ;;
    esac
}

cc=${CC:-}
if [ -z "$cc" ]; then
    for c in clang-14 clang; do
        if command -v "$c" >/dev/null 2>&1; then cc=$c; break; fi
    done
fi
if [ -z "$cc" ]; then
    echo "fuzz.sh: no clang found; install: apt-get install -y clang-14 libclang-rt-14-dev" >&2
    exit 2
fi

out=${FUZZ_OUT:-$root/build-fuzz}
mkdir -p "$out/artifacts"
work=$(mktemp -d "${TMPDIR:-/tmp}/gancl-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

cflags=(-g -O1 "-fsanitize=fuzzer,address,undefined" -fno-sanitize-recover=all
    -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -I"$root/include" -I"$root/src")

if [ $# -gt 0 ]; then
    targets=("$@")
else
    targets=()
    for f in "$root"/fuzz/fuzz_*.c; do
        [ -e "$f" ] && targets+=("$(basename "$f" .c)")
    done
fi
if [ ${#targets[@]} -eq 0 ]; then
    echo "fuzz.sh: no fuzz/fuzz_*.c targets" >&2
    exit 2
fi

failed=0
summary=()
for t in "${targets[@]}"; do
    src="$root/fuzz/$t.c"
    if [ ! -e "$src" ]; then
        echo "== $t: fuzz/$t.c does not exist (yet); skipped"
        summary+=("$t: skipped (no source)")
        continue
    fi
    if ! srcs=$(sources_for "$t") || ! libs=$(libs_for "$t"); then
        echo "== $t: no source list in tools/fuzz.sh; add one to sources_for/libs_for" >&2
        summary+=("$t: FAILED (no source list)")
        failed=1
        continue
    fi
    bin="$out/$t"
    echo "== $t: building with $cc"
    # shellcheck disable=SC2086 # word splitting of the lists is intended
    if ! (cd "$root" && "$cc" "${cflags[@]}" "fuzz/$t.c" $srcs -o "$bin" $libs); then
        summary+=("$t: FAILED (build)")
        failed=1
        continue
    fi

    corpus="$work/$t-corpus"
    mkdir -p "$corpus"
    nseeds=0
    read -r -a globs <<<"$(seeds_for "$t")"
    for g in "${globs[@]}"; do
        dir=$root/tests/io/corpus
        [ "$t" = fuzz_idx ] && dir=$root/tests/io/corpus_idx
        for f in "$dir"/$g; do
            if [ -f "$f" ]; then cp "$f" "$corpus/" && nseeds=$((nseeds + 1)); fi
        done
    done
    dictargs=()
    if [ -n "$(dict_for "$t")" ]; then
        dict_for "$t" >"$work/$t.dict"
        dictargs=(-dict="$work/$t.dict")
    fi

    log="$out/$t.log"
    echo "== $t: running ${secs}s from $nseeds seeds (log: $log)"
    rc=0
    "$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$out/artifacts/$t-" "${dictargs[@]}" "$corpus" >"$log" 2>&1 || rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    runs=${runs:-?}
    if [ "$rc" -ne 0 ]; then
        echo "== $t: FAILED (exit $rc) after $runs runs; the end of the log:"
        tail -n 40 "$log"
        summary+=("$t: FAILED (exit $rc) after $runs runs; inputs in $out/artifacts/")
        failed=1
    else
        echo "== $t: $runs runs, no crash"
        summary+=("$t: $runs runs in ${secs}s, ok")
    fi
done

echo "== summary"
printf '  %s\n' "${summary[@]}"
exit $failed
