#!/usr/bin/env bash
# Installs vkllm's build and test dependencies from Debian 12 packages.
# Does nothing (and needs no network) when everything is already present.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libvulkan-dev glslc spirv-tools
  mesa-vulkan-drivers vulkan-validationlayers vulkan-tools
  libglm-dev doctest-dev libstb-dev
  nlohmann-json3-dev libcli11-dev libfmt-dev libpcre2-dev libicu-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "vkllm setup: installing ${missing[*]}" >&2
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
