// The DMA-BUF heap UAPI (/dev/dma_heap/<name>), written from rk3588-npu.md §6 and checked against
// it: struct size, field offsets, ioctl number.
#pragma once

#include <cstddef>
#include <cstdint>

#include <sys/ioctl.h>

namespace rockllm::npu::uapi::dma_heap {

struct AllocationData {
    uint64_t len;         // in
    uint32_t fd;          // out: the dma-buf
    uint32_t fd_flags;    // in: O_RDWR | O_CLOEXEC
    uint64_t heap_flags;  // in: 0
};

constexpr unsigned long kAlloc = _IOWR('H', 0x0, AllocationData);

static_assert(sizeof(AllocationData) == 24 && offsetof(AllocationData, fd) == 8 && offsetof(AllocationData, fd_flags) == 12 &&
              offsetof(AllocationData, heap_flags) == 16);
static_assert(kAlloc == 0xC0184800);

}  // namespace rockllm::npu::uapi::dma_heap
