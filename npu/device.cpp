#include "npu/device.h"

#include "npu/matmul_task.h"

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

void SimulatedDevice::run(const std::vector<TaskRef>& tasks, const std::vector<DeviceBuffer>&) {
    for (const TaskRef& t : tasks) simulator_.run_task(t.regcmd_iova, t.regcmd_count);
}

}  // namespace rockllm::npu
