#!/usr/bin/env bash
# Installs the dependencies, builds, and runs every test: all GPU configurations under the
# validation layers and the CLI checks (build/), then the suite under ASan + UBSan with a short
# run of each fuzz harness (tools/sanitize.sh, build-sanitize/). `.ci/run` runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure -j"$(nproc)"
tools/sanitize.sh 10
