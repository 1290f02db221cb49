#!/usr/bin/env bash
# Run on the development machine (Debian packages installed): copies what the GPU build needs
# into .deps/ (git-ignored), which the device tool carries to a GPU machine without network:
#   Boost.Hana headers (libboost-dev), doctest headers (doctest-dev), Google Benchmark headers
#   and shared library (libbenchmark-dev; built against an older glibc/libstdc++ than the GPU
#   image's, so it loads there).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
deps=${AMGRAD_DEPS_DIR:-$root/.deps}
multiarch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)

rm -rf "$deps"
mkdir -p "$deps/include/boost" "$deps/lib"
cp -r /usr/include/boost/hana /usr/include/boost/hana.hpp "$deps/include/boost/"
cp -r /usr/include/doctest "$deps/include/"
cp -r /usr/include/benchmark "$deps/include/"
# The real file under its SONAME, so that the linker and the loader agree without symlinks.
lib=$(readlink -f "/usr/lib/$multiarch/libbenchmark.so")
soname=$(objdump -p "$lib" | awk '/SONAME/ {print $2}')
cp "$lib" "$deps/lib/$soname"
du -sh "$deps"
