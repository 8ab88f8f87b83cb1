// ROCKLLM_NPU_TRACE=FILE: the driver layer appends every job it submits to FILE — the driver, the
// core mask, and each task's address and list as it is when submitted (tails linked) — so that a
// person bringing up a board can read exactly what reached the kernel (`rockllm npu decode FILE`).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "npu/device.h"

namespace rockllm::npu {

// Appends tasks [first, last) as one job when tracing is on; does nothing otherwise.
void trace_job(const std::string& driver, uint32_t core_mask, const std::vector<TaskRef>& tasks, size_t first, size_t last);

// One job of a trace file.
struct TracedJob {
    std::string header;  // "job rknpu core_mask 1 tasks 3"
    struct Task {
        uint64_t iova = 0;
        std::vector<uint64_t> entries;
    };
    std::vector<Task> tasks;
};
// The jobs of a trace file; throws std::runtime_error for a malformed one.
std::vector<TracedJob> read_trace(const std::string& text);

}  // namespace rockllm::npu
