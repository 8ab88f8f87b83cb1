#!/usr/bin/env bash
# Cross-builds rockllm for arm64 (the boards) with cmake/aarch64-linux-gnu.cmake and packages it
# as rockllm_<version>_arm64.deb; then shows the package and runs the arm64 binary's usage under
# qemu-user. Needs tools/install-deps.sh --aarch64.
# Usage: tools/build-arm64-package.sh [--configure-only] [BUILD_DIR]   (default build-arm64; with
# --configure-only it prepares the sysroot and configures, for tools/test-aarch64.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
configure_only=0
if [ "${1:-}" = "--configure-only" ]; then configure_only=1; shift; fi
out=${1:-build-arm64}
sysroot="$(realpath -m "$out")/sysroot"  # absolute, whether out is given relative or not

# sentencepiece (and protobuf-lite, which it links) for arm64, extracted rather than installed:
# its -dev package cannot be co-installed with the amd64 one.
if [ ! -f "$sysroot/usr/lib/aarch64-linux-gnu/pkgconfig/sentencepiece.pc" ]; then
  mkdir -p "$out/debs" "$sysroot"
  chmod 777 "$out/debs"  # apt downloads as its _apt user
  (cd "$out/debs" && apt-get download -qq libsentencepiece-dev:arm64 libsentencepiece0:arm64 libprotobuf-lite32:arm64)
  for deb in "$out"/debs/*.deb; do dpkg-deb -x "$deb" "$sysroot"; done
  sed -i "s|^prefix=.*|prefix=$sysroot/usr|" "$sysroot/usr/lib/aarch64-linux-gnu/pkgconfig/sentencepiece.pc"
fi

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
export ROCKLLM_ARM64_SYSROOT="$sysroot"
cmake -S . -B "$out" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DROCKLLM_BUILD_TESTS=OFF -DROCKLLM_ENGINE_TESTS=ON \
  -DCMAKE_TOOLCHAIN_FILE="$(pwd)/cmake/aarch64-linux-gnu.cmake" >/dev/null
[ "$configure_only" = 1 ] && exit 0
cmake --build "$out" -j "$(nproc)"
file "$out/rockllm"
rm -f "$out"/rockllm_*.deb
(cd "$out" && cpack -G DEB >/dev/null)
deb=$(ls "$out"/rockllm_*_arm64.deb)
echo "== dpkg-deb --info $deb"
dpkg-deb --info "$deb"
echo "== dpkg-deb --contents $deb"
dpkg-deb --contents "$deb"
echo "== the arm64 binary under qemu-user"
LD_LIBRARY_PATH="$sysroot/usr/lib/aarch64-linux-gnu" qemu-aarch64-static -L /usr/aarch64-linux-gnu "$out/rockllm" help | head -3
