// The mainline Rocket accel driver's UAPI (Linux 6.18+, /dev/accel/accel*), written from the facts
// in rk3588-npu.md §2 and checked against them: every struct's size and field offsets, and every
// ioctl number.
#pragma once

#include <cstddef>
#include <cstdint>

#include <drm.h>

namespace rockllm::npu::uapi::rocket {

struct CreateBo {
    uint32_t size;         // in: bytes
    uint32_t handle;       // out: GEM handle
    uint64_t dma_address;  // out: NPU IOVA, private to this fd
    uint64_t offset;       // out: mmap offset on the fd
};

struct Task {
    uint32_t regcmd;        // IOVA of the task's regcmd
    uint32_t regcmd_count;  // 64-bit entries, tail included
};

struct Job {
    uint64_t tasks;           // user pointer to Task[]
    uint64_t in_bo_handles;   // user pointer to uint32_t[]
    uint64_t out_bo_handles;  // user pointer to uint32_t[]
    uint32_t task_count;
    uint32_t task_struct_size;
    uint32_t in_bo_handle_count;
    uint32_t out_bo_handle_count;
};

struct Submit {
    uint64_t jobs;  // user pointer to Job[]
    uint32_t job_count;
    uint32_t job_struct_size;
    uint64_t reserved;  // must be 0
};

struct PrepBo {
    uint32_t handle;
    uint32_t reserved;
    int64_t timeout_ns;  // an absolute CLOCK_MONOTONIC deadline
};

struct FiniBo {
    uint32_t handle;
    uint32_t reserved;
};

constexpr unsigned long kCreateBo = DRM_IOWR(DRM_COMMAND_BASE + 0x00, CreateBo);
constexpr unsigned long kSubmit = DRM_IOW(DRM_COMMAND_BASE + 0x01, Submit);
constexpr unsigned long kPrepBo = DRM_IOW(DRM_COMMAND_BASE + 0x02, PrepBo);
constexpr unsigned long kFiniBo = DRM_IOW(DRM_COMMAND_BASE + 0x03, FiniBo);

static_assert(sizeof(CreateBo) == 24 && offsetof(CreateBo, handle) == 4 && offsetof(CreateBo, dma_address) == 8 &&
              offsetof(CreateBo, offset) == 16);
static_assert(sizeof(Task) == 8 && offsetof(Task, regcmd_count) == 4);
static_assert(sizeof(Job) == 40 && offsetof(Job, in_bo_handles) == 8 && offsetof(Job, out_bo_handles) == 16 &&
              offsetof(Job, task_count) == 24 && offsetof(Job, task_struct_size) == 28 && offsetof(Job, in_bo_handle_count) == 32 &&
              offsetof(Job, out_bo_handle_count) == 36);
static_assert(sizeof(Submit) == 24 && offsetof(Submit, job_count) == 8 && offsetof(Submit, job_struct_size) == 12 &&
              offsetof(Submit, reserved) == 16);
static_assert(sizeof(PrepBo) == 16 && offsetof(PrepBo, timeout_ns) == 8);
static_assert(sizeof(FiniBo) == 8);
static_assert(kCreateBo == 0xC0186440 && kSubmit == 0x40186441 && kPrepBo == 0x40106442 && kFiniBo == 0x40086443);

}  // namespace rockllm::npu::uapi::rocket
