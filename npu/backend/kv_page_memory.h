// KV cache pages in memory the NPU can address, so that attention can move to the NPU without a
// copy. Where a page comes from:
//   - a DMA-BUF heap buffer imported into the driver, when /dev/dma_heap has one and the driver
//     imports dma-bufs (rknpu does; Rocket cannot): the system heap, or with
//     ROCKLLM_NPU_KV_CONTIGUOUS=1 the CMA heap (physically contiguous pages);
//   - otherwise a buffer of the driver's own (Rocket BO, rknpu MEM_CREATE).
// Pages are mapped into core 0's address space (one fd): that core's worker does the allocating,
// as it alone touches its device. Today the CPU reads and writes the pages (attention runs there),
// so no cache maintenance is done around those accesses.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "llm/kv_cache.h"
#include "npu/backend/npu_cores.h"
#include "npu/dma_heap.h"

namespace rockllm::npu {

class NpuKvPageMemory : public KvPageMemory {
public:
    explicit NpuKvPageMemory(NpuCores& cores);
    ~NpuKvPageMemory() override;
    void* allocate(size_t bytes) override;
    void release(void* page, size_t bytes) override;
    const char* name() const override { return name_.c_str(); }
    int64_t pages() const;

private:
    struct Page {
        DeviceBuffer device;
        HeapBuffer heap;  // fd -1 for a driver buffer
    };
    NpuCores& cores_;
    std::unique_ptr<DmaHeap> heap_;  // null: driver buffers
    std::string name_;
    mutable std::mutex mutex_;
    std::map<void*, Page> pages_;
};

}  // namespace rockllm::npu
