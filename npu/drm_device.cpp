#include "npu/drm_device.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <set>
#include <vector>

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xf86drm.h>

#include "npu/matmul_task.h"
#include "npu/regcmd.h"
#include "npu/rknpu_subcore.h"
#include "npu/trace.h"
#include "npu/uapi/rknpu.h"
#include "npu/uapi/rocket.h"

namespace rockllm::npu {

namespace {

constexpr int64_t kJobTimeoutNs = 2'000'000'000;  // waiting per job; Rocket's own job timeout is 500 ms
// A job's worst-case time (at 200 MHz): half of Rocket's 500 ms timeout; rknpu waits as long as
// the submit says (kSubmitTimeoutMs) and rekicks past 4095 tasks itself, but a kick of ours stays
// within the 12-bit TASK_NUMBER.
constexpr double kJobSecondsBudget = 0.25;
constexpr size_t kMaxTasksPerJob = 1024;
constexpr size_t kMaxTasksPerKick = 4095;
constexpr uint32_t kSubmitTimeoutMs = 6000;
constexpr uint32_t kAllInterrupts = 0x1FFFF;
constexpr uint32_t kCanary = 0xA5A5A5A5;           // fills outputs before a job, see job_ran()

std::string errno_text() { return std::strerror(errno); }

int retrying_ioctl(int fd, unsigned long request, void* arg) {
    int r;
    do {
        r = ::ioctl(fd, request, arg);
    } while (r == -1 && (errno == EINTR || errno == EAGAIN));
    return r;
}

// The node's DRM driver name and version, or nullopt when it is not a DRM node.
std::optional<std::pair<std::string, std::string>> drm_identity(int fd) {
    drmVersionPtr v = drmGetVersion(fd);
    if (!v) return std::nullopt;
    std::pair<std::string, std::string> out{std::string(v->name, static_cast<size_t>(v->name_len)),
                                            std::to_string(v->version_major) + "." + std::to_string(v->version_minor) + "." +
                                                std::to_string(v->version_patchlevel)};
    drmFreeVersion(v);
    return out;
}

int open_node(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0 && (errno == EACCES || errno == EPERM))
        throw NpuError("cannot open " + path + ": " + errno_text() +
                       ". Add the user to the render group (sudo usermod -aG render $USER, then log in again); the rockllm "
                       "package's udev rule (/usr/lib/udev/rules.d/70-rockllm-npu.rules) gives that group the NPU nodes");
    return fd;
}

// The buffers tasks [first, last) write, each once.
std::vector<DeviceBuffer> distinct_outputs(const std::vector<TaskRef>& tasks, size_t first, size_t last) {
    std::vector<DeviceBuffer> outputs;
    for (size_t i = first; i < last; ++i)
        if (std::none_of(outputs.begin(), outputs.end(), [&](const DeviceBuffer& b) { return b.handle == tasks[i].output.handle; }))
            outputs.push_back(tasks[i].output);
    return outputs;
}

// A job that the driver dropped leaves its outputs as they were: Rocket's SUBMIT returns 0 even
// then, and an output with no fence does not make PREP_BO wait.
void fill_canary(const DeviceBuffer& b) {
    for (size_t i = 0; i + 4 <= b.size; i += 4) std::memcpy(b.host + i, &kCanary, 4);
}
bool job_ran(const DeviceBuffer& b) {
    for (size_t i = 0; i + 4 <= std::min<size_t>(b.size, 64); i += 4) {
        uint32_t v;
        std::memcpy(&v, b.host + i, 4);
        if (v != kCanary) return true;
    }
    return false;
}

class RocketDevice : public NpuDevice {
public:
    explicit RocketDevice(int fd) : fd_(fd) {}
    ~RocketDevice() override { ::close(fd_); }

    DeviceBuffer allocate(size_t bytes) override {
        if (bytes == 0 || bytes > UINT32_MAX) throw NpuError("an NPU buffer must hold 1 byte to 4 GiB");
        uapi::rocket::CreateBo create{};
        create.size = static_cast<uint32_t>(bytes);
        if (retrying_ioctl(fd_, uapi::rocket::kCreateBo, &create) != 0) throw NpuError("ROCKET_CREATE_BO: " + errno_text());
        void* host = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, static_cast<off_t>(create.offset));
        if (host == MAP_FAILED) {
            const std::string why = errno_text();
            close_handle(create.handle);
            throw NpuError("mmap of an NPU buffer: " + why);
        }
        return {create.handle, create.dma_address, static_cast<uint8_t*>(host), bytes};
    }

    void release(const DeviceBuffer& b) override {
        ::munmap(b.host, b.size);
        close_handle(b.handle);
    }

    void cpu_write_done(const DeviceBuffer& b) override {
        uapi::rocket::FiniBo fini{b.handle, 0};
        if (retrying_ioctl(fd_, uapi::rocket::kFiniBo, &fini) != 0) throw NpuError("ROCKET_FINI_BO: " + errno_text());
    }

    // Rocket kicks one task at a time (TASK_NUMBER 1) and writes each task's address itself, so
    // every tail ends; a job times out after 500 ms, so tasks are grouped into jobs that stay well
    // inside it at 200 MHz, all passed in one SUBMIT. The jobs of one fd run in order on one core.
    void run(const std::vector<TaskRef>& tasks) override {
        const std::vector<DeviceBuffer> outputs = distinct_outputs(tasks, 0, tasks.size());
        for (const DeviceBuffer& out : outputs) {
            fill_canary(out);
            cpu_write_done(out);
        }
        for (const DeviceBuffer& changed : write_tails(tasks, 0, tasks.size(), false)) cpu_write_done(changed);
        const auto ranges = split_into_jobs(tasks, kMaxTasksPerJob, kJobSecondsBudget);
        for (const auto& [first, last] : ranges) trace_job("rocket", 0, tasks, first, last);
        std::vector<std::vector<uapi::rocket::Task>> lists(ranges.size());
        std::vector<std::vector<uint32_t>> handles(ranges.size());
        std::vector<uapi::rocket::Job> jobs(ranges.size());
        for (size_t j = 0; j < ranges.size(); ++j) {
            for (size_t i = ranges[j].first; i < ranges[j].second; ++i) lists[j].push_back({static_cast<uint32_t>(tasks[i].iova()), tasks[i].count});
            for (const DeviceBuffer& out : distinct_outputs(tasks, ranges[j].first, ranges[j].second)) handles[j].push_back(out.handle);
            jobs[j].tasks = reinterpret_cast<uintptr_t>(lists[j].data());
            jobs[j].out_bo_handles = reinterpret_cast<uintptr_t>(handles[j].data());
            jobs[j].task_count = static_cast<uint32_t>(lists[j].size());
            jobs[j].task_struct_size = sizeof(uapi::rocket::Task);
            jobs[j].out_bo_handle_count = static_cast<uint32_t>(handles[j].size());
        }
        uapi::rocket::Submit submit{};
        submit.jobs = reinterpret_cast<uintptr_t>(jobs.data());
        submit.job_count = static_cast<uint32_t>(jobs.size());
        submit.job_struct_size = sizeof(uapi::rocket::Job);
        if (retrying_ioctl(fd_, uapi::rocket::kSubmit, &submit) != 0) throw NpuError("ROCKET_SUBMIT: " + errno_text());
        // Waiting is PREP_BO on the outputs: the jobs' fences are on them. The deadline is absolute.
        timespec now{};
        clock_gettime(CLOCK_MONOTONIC, &now);
        const int64_t deadline = int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec + kJobTimeoutNs * static_cast<int64_t>(jobs.size());
        for (const DeviceBuffer& out : outputs) {
            uapi::rocket::PrepBo prep{out.handle, 0, deadline};
            if (retrying_ioctl(fd_, uapi::rocket::kPrepBo, &prep) != 0)
                throw NpuError(errno == ETIMEDOUT ? "NPU job timed out (the core is reset by the kernel)" : "ROCKET_PREP_BO: " + errno_text());
            if (!job_ran(out)) throw NpuError("the NPU job did not run: the driver dropped it (a bad task or buffer)");
        }
    }

private:
    void close_handle(uint32_t handle) {
        drm_gem_close close{handle, 0};
        ::ioctl(fd_, DRM_IOCTL_GEM_CLOSE, &close);
    }
    int fd_;
};

class RknpuDevice : public NpuDevice {
public:
    explicit RknpuDevice(int fd) : fd_(fd) {}
    ~RknpuDevice() override {
        if (tasks_.host) release(tasks_);
        ::close(fd_);
    }

    DeviceBuffer allocate(size_t bytes) override { return allocate_with(bytes, 0); }

    void release(const DeviceBuffer& b) override {
        if (!imported_.erase(b.handle)) ::munmap(b.host, b.size);  // an import's mapping is its dma-buf's
        const auto it = objects_.find(b.handle);
        uapi::rknpu::MemDestroy destroy{b.handle, 0, it == objects_.end() ? 0 : it->second};
        ::ioctl(fd_, uapi::rknpu::kMemDestroy, &destroy);
        objects_.erase(b.handle);
    }

    void cpu_write_done(const DeviceBuffer& b) override { sync(b, uapi::rknpu::kSyncToDevice); }

    std::optional<DeviceBuffer> import_dmabuf(int dmabuf, size_t bytes, uint8_t* host) override {
        // PRIME gives a GEM handle; MEM_CREATE with that handle allocates nothing and reports the
        // object's token and NPU address (rk3588-npu.md §4.5, §4.6).
        uint32_t handle = 0;
        if (drmPrimeFDToHandle(fd_, dmabuf, &handle) != 0) throw NpuError("importing a dma-buf into rknpu (PRIME): " + errno_text());
        uapi::rknpu::MemCreate create{};
        create.handle = handle;
        create.size = bytes;
        if (retrying_ioctl(fd_, uapi::rknpu::kMemCreate, &create) != 0) {
            const std::string why = errno_text();
            drm_gem_close close{handle, 0};
            ::ioctl(fd_, DRM_IOCTL_GEM_CLOSE, &close);
            throw NpuError("RKNPU_MEM_CREATE of an imported dma-buf: " + why);
        }
        objects_[create.handle] = create.obj_addr;
        imported_.insert(create.handle);
        const DeviceBuffer b{create.handle, create.dma_addr, host, bytes};
        if (create.dma_addr + bytes > kIovaLimit) {
            release(b);
            throw NpuError("the driver placed an imported buffer outside the 32-bit NPU window");
        }
        return b;
    }

    bool select_core(int core) override {
        if (core < 0 || core > 2) throw NpuError("the RK3588 NPU has cores 0, 1 and 2");
        core_mask_ = 1u << core;
        return true;
    }

    // PC mode: the driver gives the core the first task's list and TASK_NUMBER; each tail leads
    // the PC to the next list, and the interrupt is taken when the status equals the last task's
    // int_mask. A core runs the task range of its subcore_task entry (fill_subcore_tasks).
    void run(const std::vector<TaskRef>& tasks) override {
        const std::vector<DeviceBuffer> outputs = distinct_outputs(tasks, 0, tasks.size());
        for (const DeviceBuffer& out : outputs) {
            fill_canary(out);
            cpu_write_done(out);
        }
        for (const auto& [first, last] : split_into_jobs(tasks, kMaxTasksPerKick, kJobSecondsBudget)) submit_chain(tasks, first, last);
        for (const DeviceBuffer& out : outputs) {
            sync(out, uapi::rknpu::kSyncFromDevice);
            if (!job_ran(out)) throw NpuError("the NPU job did not write its output");
        }
    }

private:
    void submit_chain(const std::vector<TaskRef>& tasks, size_t first, size_t last) {
        for (const DeviceBuffer& changed : write_tails(tasks, first, last, true)) cpu_write_done(changed);
        // The task array lives in a buffer the kernel maps itself.
        const size_t count = last - first;
        const size_t bytes = count * sizeof(uapi::rknpu::Task);
        if (tasks_.size < bytes) {
            if (tasks_.host) release(tasks_);
            tasks_ = {};
            tasks_ = allocate_with(std::max<size_t>(bytes, 4096), uapi::rknpu::kMemKernelMapping);
        }
        for (size_t i = 0; i < count; ++i) {
            const TaskRef& ref = tasks[first + i];
            uapi::rknpu::Task t{};
            t.enable_mask = enable::kMatmul;  // not read in PC mode: the list's op-enable entry starts the blocks
            t.int_mask = pc::kDpuDoneInterrupts;  // the task ends in a DPU write-out
            t.int_clear = kAllInterrupts;
            t.regcfg_amount = ref.count - static_cast<uint32_t>(kTailEntries);
            t.regcmd_addr = ref.iova();
            std::memcpy(tasks_.host + i * sizeof t, &t, sizeof t);
        }
        cpu_write_done(tasks_);
        uapi::rknpu::Submit submit{};
        submit.flags = uapi::rknpu::kJobPc | uapi::rknpu::kJobBlock | uapi::rknpu::kJobPingPong;
        submit.timeout = kSubmitTimeoutMs;
        submit.task_number = static_cast<uint32_t>(count);
        submit.task_obj_addr = objects_.at(tasks_.handle);
        submit.core_mask = core_mask_;
        submit.fence_fd = -1;
        fill_subcore_tasks(submit, 0, static_cast<uint32_t>(count));
        trace_job("rknpu", core_mask_, tasks, first, last);
        if (retrying_ioctl(fd_, uapi::rknpu::kSubmit, &submit) != 0)
            throw NpuError(errno == ETIMEDOUT ? "NPU job timed out" : "RKNPU_SUBMIT: " + errno_text());
        if (submit.task_counter != count)
            throw NpuError("the NPU ran " + std::to_string(submit.task_counter) + " of " + std::to_string(count) + " tasks");
    }

    DeviceBuffer allocate_with(size_t bytes, uint32_t extra_flags) {
        if (bytes == 0) throw NpuError("an NPU buffer cannot be empty");
        uapi::rknpu::MemCreate create{};
        create.flags = uapi::rknpu::kMemNonContiguous | uapi::rknpu::kMemCacheable | uapi::rknpu::kMemIommu |
                       uapi::rknpu::kMemZeroing | extra_flags;
        create.size = bytes;
        if (retrying_ioctl(fd_, uapi::rknpu::kMemCreate, &create) != 0) throw NpuError("RKNPU_MEM_CREATE: " + errno_text());
        objects_[create.handle] = create.obj_addr;
        uapi::rknpu::MemMap map{create.handle, 0, 0};
        void* host = MAP_FAILED;
        if (retrying_ioctl(fd_, uapi::rknpu::kMemMap, &map) == 0)
            host = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, static_cast<off_t>(map.offset));
        if (host == MAP_FAILED) {
            const std::string why = errno_text();
            uapi::rknpu::MemDestroy destroy{create.handle, 0, create.obj_addr};
            ::ioctl(fd_, uapi::rknpu::kMemDestroy, &destroy);
            objects_.erase(create.handle);
            throw NpuError("mapping an NPU buffer: " + why);
        }
        if (create.dma_addr + bytes > kIovaLimit) throw NpuError("the driver placed a buffer outside the 32-bit NPU window");
        return {create.handle, create.dma_addr, static_cast<uint8_t*>(host), bytes};
    }

    void sync(const DeviceBuffer& b, uint32_t direction) {
        uapi::rknpu::MemSync s{direction, 0, objects_.at(b.handle), 0, b.size};
        if (retrying_ioctl(fd_, uapi::rknpu::kMemSync, &s) != 0) throw NpuError("RKNPU_MEM_SYNC: " + errno_text());
    }

    int fd_;
    std::map<uint32_t, uint64_t> objects_;  // handle → obj_addr
    std::set<uint32_t> imported_;           // handles of imported dma-bufs
    DeviceBuffer tasks_;
    uint32_t core_mask_ = uapi::rknpu::kCoreAuto;  // the driver picks the least busy core
};

}  // namespace

std::optional<DeviceNode> find_npu_node() {
    // Open candidate nodes directly (no directory listing): /dev/accel is Rocket's; rknpu is a DRM
    // node whose number varies with the board's display devices.
    std::vector<std::pair<std::string, DriverKind>> candidates;
    for (int i = 0; i < 4; ++i) candidates.emplace_back("/dev/accel/accel" + std::to_string(i), DriverKind::Rocket);
    for (int i = 128; i < 136; ++i) candidates.emplace_back("/dev/dri/renderD" + std::to_string(i), DriverKind::Rknpu);
    for (int i = 0; i < 8; ++i) candidates.emplace_back("/dev/dri/card" + std::to_string(i), DriverKind::Rknpu);
    for (const auto& [path, kind] : candidates) {
        if (::access(path.c_str(), F_OK) != 0) continue;
        const int fd = open_node(path);
        if (fd < 0) continue;
        const auto identity = drm_identity(fd);
        ::close(fd);
        if (!identity) continue;
        if ((kind == DriverKind::Rocket && identity->first == "rocket") || (kind == DriverKind::Rknpu && identity->first == "rknpu"))
            return DeviceNode{kind, path, identity->second};
    }
    return std::nullopt;
}

std::unique_ptr<NpuDevice> open_npu_device(const DeviceNode& node) {
    const int fd = open_node(node.path);
    if (fd < 0) throw NpuError("cannot open " + node.path + ": " + errno_text());
    if (node.driver == DriverKind::Rocket) return std::make_unique<RocketDevice>(fd);
    return std::make_unique<RknpuDevice>(fd);
}

}  // namespace rockllm::npu
