#!/bin/sh
# deps.sh: install the Debian packages vmxlab needs, or say exactly how to.
# Usage: deps.sh run|test|bench|fuzz|docs|all. Called by `make run`, `make test`,
# `make bench`, `make fuzz`, `make docs` and .ci/run; README.md says why each
# package is here.
set -e
build="gcc make binutils grub-common grub-pc-bin grub-efi-amd64-bin xorriso mtools console-setup-linux"
engines="bochs bochs-term bochsbios vgabios qemu-system-x86 ovmf"
# libFuzzer (make fuzz, make test): clang; libclang-rt-dev, whose
# libclang_rt.fuzzer clang only recommends; llvm, for llvm-symbolizer on the
# PATH, where the sanitizers look for it to name the lines of a crash.
fuzz="clang libclang-rt-dev llvm"
# The diagrams (make docs, and the doc test that renders them again): graphviz
# and gnuplot-nox draw them; fonts-dejavu-core is the font graphviz measures
# text with, named by the Makefile, so the SVGs come out the same everywhere.
docs="graphviz gnuplot-nox fonts-dejavu-core"
# The doc tests read Markdown as CommonMark with python3-markdown-it.
tests="python3 python3-pytest python3-pytest-xdist python3-markdown-it libc6-dev libcmocka-dev"
case "$1" in
    run)   want="$build $engines python3" ;;
    test)  want="$build $engines $tests $fuzz $docs" ;;
    bench) want="$build $engines python3 gnuplot-nox" ;;
    fuzz)  want="make $fuzz" ;;
    docs)  want="make $docs" ;;
    all)   want="$build $engines $tests $fuzz $docs" ;;
    *) echo "usage: $0 run|test|bench|fuzz|docs|all" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "vmxlab: installing Debian packages:$missing"
if [ "$(id -u)" = 0 ]; then
    sudo=""
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo="sudo"
else
    echo "vmxlab: these Debian packages are missing; install them as root with:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y$missing" >&2
    exit 1
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
