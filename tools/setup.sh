#!/usr/bin/env bash
# Installs vkllm's build and test dependencies from Debian 12 packages.
# Does nothing (and needs no network) when everything is already present; otherwise apt-get
# (Debian's packages) and npm ci (the openai client test's locked packages) fetch what is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libvulkan-dev glslc spirv-tools
  mesa-vulkan-drivers vulkan-validationlayers vulkan-tools
  libglm-dev doctest-dev libstb-dev
  nlohmann-json3-dev libcli11-dev libfmt-dev libpcre2-dev libicu-dev libcpp-httplib-dev
  clang libclang-rt-14-dev  # tools/sanitize.sh and tools/fuzz.sh: ASan, UBSan, libFuzzer
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js runs the openai client test. Debian ships npm apart from nodejs; NodeSource's nodejs
# bundles it (and conflicts with Debian's npm), so either is taken as it is found.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)

if [ ${#missing[@]} -gt 0 ]; then
  echo "vkllm setup: installing ${missing[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The openai client the server test drives, exactly as its lock file pins it.
openai_dir="$(cd "$(dirname "$0")/.." && pwd)/tests/openai"
if [ ! -d "$openai_dir/node_modules/openai" ]; then
  echo "vkllm setup: npm ci in tests/openai" >&2
  npm ci --prefix "$openai_dir" --silent --no-audit --no-fund
fi
