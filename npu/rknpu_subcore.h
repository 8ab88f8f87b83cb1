// rknpu's core masks and subcore_task entries, as the vendor driver reads them (rknpu_job.c,
// driver 0.9.x on RK3588's three cores): which entry of subcore_task[5] gives each core its task
// range. Our submits fill it (drm_device.cpp) and the simulated driver reads it (fake/).
#pragma once

#include <cstdint>
#include <optional>

#include "npu/uapi/rknpu.h"

namespace rockllm::npu {

// How the driver takes a core mask: EINVAL above 7; 5 and 6 are queued but never committed (no
// case of the commit switch takes them: the job waits out its timeout); the rest run.
enum class CoreMaskFate { Runs, NeverCommitted, Refused };
CoreMaskFate core_mask_fate(uint32_t core_mask);

// The subcore_task entry that core `core` (0..2) runs for a committed mask: with one or two cores
// in the mask, entry `core`; with all three, entry core + 2. Mask 0 (the driver picks one core)
// reads the picked core's entry. nullopt when the mask does not include the core.
std::optional<int> subcore_entry(uint32_t core_mask, int core);

// Fills subcore_task so that whichever core the driver runs the job on runs tasks
// [start, start + count): for mask 0 entries 0..2 (the vendor runtime does the same), for a
// single-core mask that core's entry. A mask that spreads one job over several cores is an
// NpuError: rockllm gives every core a job of its own.
void fill_subcore_tasks(uapi::rknpu::Submit& submit, uint32_t start, uint32_t count);

}  // namespace rockllm::npu
