#include "npu/device.h"

#include <algorithm>

#include "npu/matmul_task.h"
#include "npu/regcmd.h"

namespace rockllm::npu {

SimulatedDevice::SimulatedDevice(TimingModel timing)
    : simulator_([this](uint64_t iova, size_t bytes) { return resolve(iova, bytes); }, timing) {}

DeviceBuffer SimulatedDevice::allocate(size_t bytes) {
    if (bytes == 0) throw NpuError("a device buffer cannot be empty");
    const uint64_t pages = (bytes + 4095) / 4096 * 4096;
    if (next_iova_ + pages > kIovaLimit) throw NpuError("the NPU's 32-bit address space is full");
    Allocation& a = buffers_[next_iova_];
    a.handle = next_handle_++;
    a.bytes.assign(bytes, 0);
    DeviceBuffer b{a.handle, next_iova_, a.bytes.data(), bytes};
    next_iova_ += pages;
    return b;
}

void SimulatedDevice::release(const DeviceBuffer& buffer) { buffers_.erase(buffer.iova); }

uint8_t* SimulatedDevice::resolve(uint64_t iova, size_t bytes) {
    auto it = buffers_.upper_bound(iova);
    if (it == buffers_.begin()) throw NpuError("IOMMU fault: no buffer at the address");
    --it;
    if (iova + bytes > it->first + it->second.bytes.size()) throw NpuError("IOMMU fault: access past the end of a buffer");
    return it->second.bytes.data() + (iova - it->first);
}

std::vector<std::pair<size_t, size_t>> split_into_jobs(const std::vector<TaskRef>& tasks, size_t max_tasks, double max_seconds) {
    std::vector<std::pair<size_t, size_t>> jobs;
    size_t first = 0;
    double seconds = 0;
    for (size_t i = 0; i < tasks.size(); ++i) {
        const bool full = i - first == max_tasks || (i > first && seconds + tasks[i].worst_case_seconds > max_seconds);
        if (full) {
            jobs.emplace_back(first, i);
            first = i;
            seconds = 0;
        }
        seconds += tasks[i].worst_case_seconds;
    }
    if (first < tasks.size()) jobs.emplace_back(first, tasks.size());
    return jobs;
}

std::vector<DeviceBuffer> write_tails(const std::vector<TaskRef>& tasks, size_t first, size_t last, bool chained) {
    std::vector<DeviceBuffer> changed;
    for (size_t i = first; i < last; ++i) {
        const TaskRef& t = tasks[i];
        uint64_t* tail = t.entries() + t.count - kTailEntries;
        const uint64_t before[2] = {tail[0], tail[1]};
        if (chained && i + 1 < last)
            link_tail(t.entries(), t.count, tasks[i + 1].iova(), tasks[i + 1].count);
        else
            end_tail(t.entries(), t.count);
        const bool differs = tail[0] != before[0] || tail[1] != before[1];
        const bool listed = std::any_of(changed.begin(), changed.end(), [&](const DeviceBuffer& b) { return b.handle == t.commands.handle; });
        if (differs && !listed) changed.push_back(t.commands);
    }
    return changed;
}

bool SimulatedDevice::owns(const DeviceBuffer& buffer) const {
    const auto it = buffers_.find(buffer.iova);
    return it != buffers_.end() && it->second.handle == buffer.handle;
}

// Each task on its own, as Rocket kicks them: the tails must end (no chain).
void SimulatedDevice::run(const std::vector<TaskRef>& tasks) {
    for (const TaskRef& t : tasks)
        if (!owns(t.commands) || !owns(t.output)) throw NpuError("a task names a buffer of another device");
    write_tails(tasks, 0, tasks.size(), false);
    for (const TaskRef& t : tasks) simulator_.run_task(t.iova(), t.count);
}

}  // namespace rockllm::npu
