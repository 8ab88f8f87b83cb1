// Rockchip's vendor rknpu driver's UAPI (BSP kernels 5.10 / 6.1 / 6.6, DRM build: a DRM node named
// "rknpu"), written from rk3588-npu.md §4 and checked against it: struct sizes, field offsets,
// ioctl numbers.
#pragma once

#include <cstddef>
#include <cstdint>

#include <drm.h>

namespace rockllm::npu::uapi::rknpu {

struct Action {
    uint32_t flags;  // the action
    uint32_t value;
};

struct MemCreate {
    uint32_t handle;  // in: 0 to allocate; out: the handle
    uint32_t flags;
    uint64_t size;
    uint64_t obj_addr;  // out: the kernel's token for the object
    uint64_t dma_addr;  // out: NPU IOVA
    uint64_t sram_size;
    int32_t iommu_domain_id;
    uint32_t reserved;  // core_mask in 0.9.8 trees
};

struct MemMap {
    uint32_t handle;
    uint32_t reserved;
    uint64_t offset;  // out: mmap offset
};

struct MemDestroy {
    uint32_t handle;
    uint32_t reserved;
    uint64_t obj_addr;
};

struct MemSync {
    uint32_t flags;  // kSyncToDevice / kSyncFromDevice
    uint32_t reserved;
    uint64_t obj_addr;
    uint64_t offset;
    uint64_t size;
};

#pragma pack(push, 1)
struct Task {
    uint32_t flags;
    uint32_t op_idx;
    uint32_t enable_mask;
    uint32_t int_mask;
    uint32_t int_clear;
    uint32_t int_status;     // out
    uint32_t regcfg_amount;  // entries without the 4-entry tail
    uint32_t regcfg_offset;
    uint64_t regcmd_addr;  // IOVA
};
#pragma pack(pop)

struct SubcoreTask {
    uint32_t task_start;
    uint32_t task_number;
};

struct Submit {
    uint32_t flags;
    uint32_t timeout;  // ms
    uint32_t task_start;
    uint32_t task_number;
    uint32_t task_counter;  // out
    int32_t priority;
    uint64_t task_obj_addr;  // obj_addr of the BO holding the Task array (KERNEL_MAPPING)
    uint32_t iommu_domain_id;
    uint32_t reserved;
    uint64_t task_base_addr;
    int64_t hw_elapse_time;  // out
    uint32_t core_mask;
    int32_t fence_fd;
    SubcoreTask subcore_task[5];
};

constexpr uint32_t kMemNonContiguous = 1, kMemCacheable = 2, kMemKernelMapping = 8, kMemIommu = 16, kMemZeroing = 32;
constexpr uint32_t kSyncToDevice = 1, kSyncFromDevice = 2;
constexpr uint32_t kJobPc = 1, kJobBlock = 0, kJobPingPong = 4;
constexpr uint32_t kActionGetHwVersion = 0, kActionGetDrvVersion = 1;
constexpr uint32_t kCoreAuto = 0, kCore0 = 1, kCore1 = 2, kCore2 = 4;

constexpr unsigned long kAction = DRM_IOWR(DRM_COMMAND_BASE + 0x00, Action);
constexpr unsigned long kSubmit = DRM_IOWR(DRM_COMMAND_BASE + 0x01, Submit);
constexpr unsigned long kMemCreate = DRM_IOWR(DRM_COMMAND_BASE + 0x02, MemCreate);
constexpr unsigned long kMemMap = DRM_IOWR(DRM_COMMAND_BASE + 0x03, MemMap);
constexpr unsigned long kMemDestroy = DRM_IOWR(DRM_COMMAND_BASE + 0x04, MemDestroy);
constexpr unsigned long kMemSync = DRM_IOWR(DRM_COMMAND_BASE + 0x05, MemSync);

static_assert(sizeof(Action) == 8);
static_assert(sizeof(MemCreate) == 48 && offsetof(MemCreate, size) == 8 && offsetof(MemCreate, obj_addr) == 16 &&
              offsetof(MemCreate, dma_addr) == 24 && offsetof(MemCreate, sram_size) == 32 && offsetof(MemCreate, iommu_domain_id) == 40);
static_assert(sizeof(MemMap) == 16 && offsetof(MemMap, offset) == 8);
static_assert(sizeof(MemDestroy) == 16 && offsetof(MemDestroy, obj_addr) == 8);
static_assert(sizeof(MemSync) == 32 && offsetof(MemSync, obj_addr) == 8 && offsetof(MemSync, offset) == 16 && offsetof(MemSync, size) == 24);
static_assert(sizeof(Task) == 40 && offsetof(Task, regcfg_amount) == 24 && offsetof(Task, regcmd_addr) == 32);
static_assert(sizeof(Submit) == 104 && offsetof(Submit, task_obj_addr) == 24 && offsetof(Submit, iommu_domain_id) == 32 &&
              offsetof(Submit, task_base_addr) == 40 && offsetof(Submit, hw_elapse_time) == 48 && offsetof(Submit, core_mask) == 56 &&
              offsetof(Submit, fence_fd) == 60 && offsetof(Submit, subcore_task) == 64);
static_assert(kAction == 0xC0086440 && kSubmit == 0xC0686441 && kMemCreate == 0xC0306442 && kMemMap == 0xC0106443 &&
              kMemDestroy == 0xC0106444 && kMemSync == 0xC0206445);

}  // namespace rockllm::npu::uapi::rknpu
