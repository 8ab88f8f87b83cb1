#include "npu/rknpu_subcore.h"

#include <bit>
#include <string>

#include "npu/regcmd.h"

namespace rockllm::npu {

CoreMaskFate core_mask_fate(uint32_t core_mask) {
    if (core_mask > 7) return CoreMaskFate::Refused;
    if (core_mask == 5 || core_mask == 6) return CoreMaskFate::NeverCommitted;
    return CoreMaskFate::Runs;
}

std::optional<int> subcore_entry(uint32_t core_mask, int core) {
    if (core < 0 || core > 2 || core_mask_fate(core_mask) != CoreMaskFate::Runs) return std::nullopt;
    if (core_mask == uapi::rknpu::kCoreAuto) return core;
    if (!(core_mask & (1u << core))) return std::nullopt;
    return std::popcount(core_mask) == 3 ? core + 2 : core;
}

void fill_subcore_tasks(uapi::rknpu::Submit& submit, uint32_t start, uint32_t count) {
    const uint32_t mask = submit.core_mask;
    if (mask != uapi::rknpu::kCoreAuto && std::popcount(mask) != 1)
        throw NpuError("core mask " + std::to_string(mask) + " spreads one job over several cores; rockllm submits one job per core");
    for (int core = 0; core < 3; ++core)
        if (const auto entry = subcore_entry(mask, core)) submit.subcore_task[*entry] = {start, count};
}

}  // namespace rockllm::npu
