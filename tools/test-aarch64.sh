#!/usr/bin/env bash
# Cross-builds rockllm for aarch64 and runs the engine's tests under qemu-user, as a Cortex-A76
# (NEON dot-product kernels) and as a Cortex-A53 (scalar kernels): the NEON kernels against their
# scalar twins, the quant formats, the stories260K reference and the architecture references. The
# same build directory then gives the arm64 package (tools/build-arm64-package.sh), so the engine is
# compiled once. Needs g++-aarch64-linux-gnu and qemu-user-static (tools/install-deps.sh --aarch64).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build-arm64}
tools/build-arm64-package.sh --configure-only "$out"
cmake --build "$out" -j "$(nproc)" --target rockllm_engine_tests
file "$out/rockllm_engine_tests"
echo "== qemu-aarch64, cpu cortex-a76"
qemu-aarch64-static -cpu cortex-a76 "$out/rockllm_engine_tests"
echo "== qemu-aarch64, cpu cortex-a53"
qemu-aarch64-static -cpu cortex-a53 "$out/rockllm_engine_tests" -tc="*kernel*,*stories260K*,*architecture*"
