#include "npu/dma_heap.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "npu/regcmd.h"
#include "npu/uapi/dma_heap.h"

namespace rockllm::npu {

std::vector<std::string> system_heap_names() { return {"system"}; }
std::vector<std::string> contiguous_heap_names() {
    // Mainline 6.17+ names the default CMA area's heap default_cma_region; before, reserved,
    // linux,cma or default-pool; Rockchip's BSP kernels call it cma.
    return {"default_cma_region", "linux,cma", "reserved", "default-pool", "cma"};
}

std::unique_ptr<DmaHeap> DmaHeap::open_first(const std::vector<std::string>& names) {
    for (const std::string& name : names) {
        const std::string path = "/dev/dma_heap/" + name;
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd >= 0) return std::unique_ptr<DmaHeap>(new DmaHeap(fd, name));
    }
    return nullptr;
}

DmaHeap::~DmaHeap() { ::close(fd_); }

HeapBuffer DmaHeap::allocate(size_t bytes) {
    uapi::dma_heap::AllocationData a{};
    a.len = (bytes + 4095) / 4096 * 4096;
    a.fd_flags = O_RDWR | O_CLOEXEC;
    int r;
    do {
        r = ::ioctl(fd_, uapi::dma_heap::kAlloc, &a);
    } while (r == -1 && errno == EINTR);
    if (r != 0) throw NpuError("DMA_HEAP_IOCTL_ALLOC on /dev/dma_heap/" + name_ + ": " + std::strerror(errno));
    void* host = ::mmap(nullptr, a.len, PROT_READ | PROT_WRITE, MAP_SHARED, static_cast<int>(a.fd), 0);
    if (host == MAP_FAILED) {
        const std::string why = std::strerror(errno);
        ::close(static_cast<int>(a.fd));
        throw NpuError("mapping a dma-buf of /dev/dma_heap/" + name_ + ": " + why);
    }
    return {static_cast<int>(a.fd), static_cast<uint8_t*>(host), static_cast<size_t>(a.len)};
}

void DmaHeap::release(const HeapBuffer& b) {
    if (b.host) ::munmap(b.host, b.size);
    if (b.fd >= 0) ::close(b.fd);
}

}  // namespace rockllm::npu
