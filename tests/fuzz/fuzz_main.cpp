// One libFuzzer executable per target: ROCKLLM_FUZZ_TARGET names the target it runs.
#include <cstdio>
#include <cstdlib>

#include "fuzz_targets.h"

namespace {

const rockllm::fuzz::Target& target() {
    static const rockllm::fuzz::Target* t = rockllm::fuzz::find_target(ROCKLLM_FUZZ_TARGET);
    if (t == nullptr) {
        std::fprintf(stderr, "no fuzz target %s\n", ROCKLLM_FUZZ_TARGET);
        std::abort();
    }
    return *t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) { return target().run(data, size); }
