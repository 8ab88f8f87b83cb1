// Buffers from a DMA-BUF heap (/dev/dma_heap/<name>): memory any device driver that imports
// dma-bufs can address. The rknpu driver imports them (PRIME); Rocket cannot (rk3588-npu.md §2.4).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace rockllm::npu {

struct HeapBuffer {
    int fd = -1;               // the dma-buf
    uint8_t* host = nullptr;   // its CPU mapping
    size_t size = 0;
};

class DmaHeap {
public:
    // The first of the heaps that exists and opens; null when none does.
    static std::unique_ptr<DmaHeap> open_first(const std::vector<std::string>& names);
    ~DmaHeap();
    DmaHeap(const DmaHeap&) = delete;
    DmaHeap& operator=(const DmaHeap&) = delete;

    // Throws NpuError when the heap cannot give the memory.
    HeapBuffer allocate(size_t bytes);
    static void release(const HeapBuffer& buffer);
    const std::string& name() const { return name_; }

private:
    DmaHeap(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
    int fd_;
    std::string name_;
};

// Heap names: the system heap (any pages), and the CMA heap under its names across kernels.
std::vector<std::string> system_heap_names();
std::vector<std::string> contiguous_heap_names();

}  // namespace rockllm::npu
