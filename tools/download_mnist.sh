#!/usr/bin/env bash
# Download the four MNIST files (IDX, gzip) into data/mnist/ of the project
# (or into DIR), checking each against the SHA-256 of the original
# distribution files; gancl looks there by default.
#
#   tools/download_mnist.sh [DIR]
#
# Mirrors are tried in order (the original yann.lecun.com site often refuses
# downloads now); set MNIST_MIRROR=URL/ to try another one first. Files that
# are already present with the right checksum are kept.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${1:-$root/data/mnist}"

mirrors=()
if [[ -n "${MNIST_MIRROR:-}" ]]; then
    mirrors+=("${MNIST_MIRROR%/}/")
fi
mirrors+=(
    "https://storage.googleapis.com/cvdf-datasets/mnist/"
    "https://ossci-datasets.s3.amazonaws.com/mnist/"
    "http://yann.lecun.com/exdb/mnist/"
)

# SHA-256 of the original .gz files as distributed (same on every mirror).
declare -A sha256=(
    [train-images-idx3-ubyte.gz]=440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609
    [train-labels-idx1-ubyte.gz]=3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c
    [t10k-images-idx3-ubyte.gz]=8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6
    [t10k-labels-idx1-ubyte.gz]=f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6
)
files=(train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz
       t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz)

if command -v curl >/dev/null 2>&1; then
    fetch() { curl -fsSL --retry 3 --connect-timeout 20 -o "$2" "$1"; }
elif command -v wget >/dev/null 2>&1; then
    fetch() { wget -q --tries=3 --timeout=20 -O "$2" "$1"; }
else
    echo "download_mnist.sh: needs curl or wget" >&2
    exit 1
fi
command -v sha256sum >/dev/null 2>&1 || { echo "download_mnist.sh: needs sha256sum" >&2; exit 1; }

checksum_ok() { # file expected
    [[ -f "$1" ]] && [[ "$(sha256sum "$1" | cut -d' ' -f1)" == "$2" ]]
}

mkdir -p "$dest"
tmp="$(mktemp -d "$dest/.download.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

for f in "${files[@]}"; do
    want="${sha256[$f]}"
    if checksum_ok "$dest/$f" "$want"; then
        echo "$f: present, checksum ok"
        continue
    fi
    got=0
    for m in "${mirrors[@]}"; do
        echo "$f: downloading from $m"
        if ! fetch "$m$f" "$tmp/$f"; then
            echo "$f: download from $m failed" >&2
            continue
        fi
        if checksum_ok "$tmp/$f" "$want"; then
            mv -f "$tmp/$f" "$dest/$f"
            got=1
            break
        fi
        echo "$f: checksum from $m is $(sha256sum "$tmp/$f" | cut -d' ' -f1), expected $want" >&2
    done
    if [[ "$got" != 1 ]]; then
        echo "download_mnist.sh: could not get $f with the right checksum from any mirror" >&2
        exit 1
    fi
done
echo "MNIST is in $dest"
