#!/usr/bin/env bash
# Installs the dependencies, builds, and runs every test (all GPU configurations under the
# validation layers, and the CLI checks). `.ci/run` runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure -j"$(nproc)"
