#include "npu/backend/kv_page_memory.h"

#include <cstdlib>
#include <cstring>

namespace rockllm::npu {

namespace {

constexpr int kKvCore = 0;

bool contiguous_asked() {
    const char* v = std::getenv("ROCKLLM_NPU_KV_CONTIGUOUS");
    return v && std::strcmp(v, "1") == 0;
}

}  // namespace

NpuKvPageMemory::NpuKvPageMemory(NpuCores& cores) : cores_(cores) {
    heap_ = DmaHeap::open_first(contiguous_asked() ? contiguous_heap_names() : system_heap_names());
    if (heap_) {
        // Whether the driver imports dma-bufs shows on the first try: one page's worth now.
        bool imports = false;
        cores_.run_on(kKvCore, [&](NpuDevice& device) {
            HeapBuffer probe;
            try {
                probe = heap_->allocate(4096);
                const auto imported = device.import_dmabuf(probe.fd, probe.size, probe.host);
                if (imported) {
                    device.release(*imported);
                    imports = true;
                }
            } catch (const std::exception&) {
            }
            DmaHeap::release(probe);
        });
        if (!imports) heap_.reset();
    }
    name_ = heap_ ? "dma-buf heap '" + heap_->name() + "' buffers imported into the NPU driver" : "NPU driver buffers";
}

NpuKvPageMemory::~NpuKvPageMemory() {
    // The pool gives every page back before it goes; whatever is left is released here.
    std::map<void*, Page> left;
    {
        std::lock_guard lock(mutex_);
        left.swap(pages_);
    }
    for (auto& [host, page] : left) release(host, page.device.size);
}

void* NpuKvPageMemory::allocate(size_t bytes) {
    Page page;
    cores_.run_on(kKvCore, [&](NpuDevice& device) {
        if (heap_) {
            page.heap = heap_->allocate(bytes);
            try {
                page.device = *device.import_dmabuf(page.heap.fd, page.heap.size, page.heap.host);
            } catch (...) {
                DmaHeap::release(page.heap);
                throw;
            }
        } else {
            page.device = device.allocate(bytes);
        }
    });
    std::lock_guard lock(mutex_);
    pages_[page.device.host] = page;
    return page.device.host;
}

void NpuKvPageMemory::release(void* host, size_t) {
    Page page;
    {
        std::lock_guard lock(mutex_);
        const auto it = pages_.find(host);
        if (it == pages_.end()) return;
        page = it->second;
        pages_.erase(it);
    }
    cores_.run_on(kKvCore, [&](NpuDevice& device) { device.release(page.device); });
    DmaHeap::release(page.heap);
}

int64_t NpuKvPageMemory::pages() const {
    std::lock_guard lock(mutex_);
    return static_cast<int64_t>(pages_.size());
}

}  // namespace rockllm::npu
