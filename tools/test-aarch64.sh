#!/usr/bin/env bash
# Cross-compiles the engine (llm/) and its unit tests for aarch64 and runs them under qemu-user:
# the NEON kernels against their scalar twins, the quant formats, the stories260K reference and the
# architecture references. Static linking: this qemu-user hangs starting threads in dynamically
# linked binaries. Needs g++-aarch64-linux-gnu and qemu-user-static (tools/install-deps.sh --aarch64).
set -euo pipefail
cd "$(dirname "$0")/.."
out=build-aarch64
mkdir -p "$out/include"
# Header-only test dependencies, without the rest of the host's /usr/include.
ln -sfn /usr/include/doctest "$out/include/doctest"
ln -sfn /usr/include/nlohmann "$out/include/nlohmann"
tests=(tests/test_main.cpp tests/test_support.cpp tests/test_ggml_type.cpp tests/test_gguf.cpp
       tests/test_gguf_hostile.cpp tests/test_quant.cpp tests/test_kernels.cpp tests/test_sampler.cpp
       tests/test_llama_forward.cpp tests/test_architectures.cpp)
echo "compiling for aarch64 (armv8-a; the dotprod kernels are enabled per function)"
aarch64-linux-gnu-g++ -std=c++20 -O2 -march=armv8-a -static -pthread -I. -isystem "$out/include" \
  -DROCKLLM_TESTDATA_DIR="\"$(cd ../shared/testdata && pwd)\"" \
  llm/*.cpp llm/*/*.cpp "${tests[@]}" -o "$out/engine_tests"
# Cortex-A76 has dotprod (the NEON kernels run); Cortex-A53 has not (the scalar kernels run).
echo "== qemu-aarch64, cpu cortex-a76"
qemu-aarch64-static -cpu cortex-a76 "$out/engine_tests"
echo "== qemu-aarch64, cpu cortex-a53"
qemu-aarch64-static -cpu cortex-a53 "$out/engine_tests" -tc="*kernel*,*stories260K*,*architecture*"
