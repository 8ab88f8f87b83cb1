#!/usr/bin/env bash
# Builds rockllm and runs the whole test suite with CTest.
#   tools/run-tests.sh              release build in build/
#   tools/run-tests.sh --sanitize   AddressSanitizer + UndefinedBehaviorSanitizer build in build-asan/
#   tools/run-tests.sh --tsan       ThreadSanitizer build in build-tsan/: the tests labelled serve, clients,
#                                   unit-threads and npu-threads (the daemon's scheduler and streaming, the
#                                   thread pool, the matmul threads, the NPU backend's core workers)
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=build
cmake_args=(-DCMAKE_BUILD_TYPE=Release)
# Sanitizer builds at -O1 with line tables only: a third of the compile time of -O2 -g (the
# template-heavy HTTP and JSON code), and reports still name file and line.
sanitizer_flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG")
ctest_args=()
if [ "${1:-}" = "--sanitize" ]; then
  build_dir=build-asan
  cmake_args=("${sanitizer_flags[@]}" -DROCKLLM_SANITIZE=ON)
elif [ "${1:-}" = "--tsan" ]; then
  build_dir=build-tsan
  cmake_args=("${sanitizer_flags[@]}" -DROCKLLM_TSAN=ON)
  ctest_args=(-L "serve|threads|clients")  # the labels of the tests that run threads (tests/CMakeLists.txt)
fi

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  cmake -S . -B "$build_dir" "${generator[@]}" "${cmake_args[@]}"
else
  cmake -S . -B "$build_dir" "${cmake_args[@]}"
fi
cmake --build "$build_dir" -j "$(nproc)"
tools/fetch-hf-tokenizers.sh "$build_dir/hf-tokenizers"
tools/install-npm-clients.sh "$build_dir/npm-clients"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp"
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" "${ctest_args[@]}"
