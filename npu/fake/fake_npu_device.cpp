// librockllm_fake_npu.so: a simulated RK3588 NPU behind the real driver path. Preloaded
// (LD_PRELOAD) into a process with ROCKLLM_NPU_SIMULATE=rocket or =rknpu, it presents the device
// node (/dev/accel/accel0, or /dev/dri/renderD129 named "rknpu") and answers open, access, ioctl,
// mmap and close on it as the kernel driver would: per-fd address spaces, buffer objects backed by
// memory files, and jobs run by the register-level simulator. Rocket's quirks are kept: SUBMIT
// returns 0 even for a job it drops, and IOVAs start at 0.
#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "npu/rknpu_subcore.h"
#include "npu/simulator.h"
#include "npu/uapi/dma_heap.h"
#include "npu/uapi/rknpu.h"
#include "npu/uapi/rocket.h"

namespace {

using namespace rockllm::npu;

enum class Mode { Off, Rocket, Rknpu };

// The shim's entry points run before the process is set up, e.g. inside a sanitizer runtime's
// initialization, which maps memory through mmap. So the paths that pass a call through take no
// lock and touch no function-local static (their guards are intercepted by ThreadSanitizer).
std::atomic<int> g_mode{-1};  // a Mode once read from the environment
Mode mode() {
    int m = g_mode.load(std::memory_order_relaxed);
    if (m < 0) {
        const char* v = std::getenv("ROCKLLM_NPU_SIMULATE");
        Mode read = Mode::Off;
        if (v && std::strcmp(v, "rocket") == 0) read = Mode::Rocket;
        if (v && std::strcmp(v, "rknpu") == 0) read = Mode::Rknpu;
        m = static_cast<int>(read);
        g_mode.store(m, std::memory_order_relaxed);
    }
    return static_cast<Mode>(m);
}

// Fault injection for the fallback tests: ROCKLLM_NPU_FAULT=hang-after:N makes every job after
// the first N (over all fds) hang the core, so that waiting for it times out.
int64_t jobs_before_hang() {
    static const int64_t n = [] {
        const char* v = std::getenv("ROCKLLM_NPU_FAULT");
        if (!v || std::strncmp(v, "hang-after:", 11) != 0) return int64_t{-1};
        return static_cast<int64_t>(std::strtoll(v + 11, nullptr, 10));
    }();
    return n;
}
std::atomic<int64_t> g_jobs{0};  // jobs submitted so far, over all fds
std::atomic<uint32_t> g_auto_core{0};  // the core rknpu picks for the next job of core mask 0
constexpr double kRocketJobTimeoutS = 0.5;
bool next_job_hangs() { return jobs_before_hang() >= 0 && g_jobs.fetch_add(1) >= jobs_before_hang(); }

const char* node_path() { return mode() == Mode::Rocket ? "/dev/accel/accel0" : "/dev/dri/renderD129"; }
bool is_node(const char* path) { return mode() != Mode::Off && path && std::strcmp(path, node_path()) == 0; }
// A simulated board has DMA-BUF heaps too: the system heap and a CMA heap (Rockchip's BSP name).
bool is_heap(const char* path) {
    return mode() != Mode::Off && path && (std::strcmp(path, "/dev/dma_heap/system") == 0 || std::strcmp(path, "/dev/dma_heap/cma") == 0);
}

template <class F>
F real(const char* name) {
    static_assert(sizeof(F) == sizeof(void*));
    void* f = dlsym(RTLD_NEXT, name);
    F out;
    std::memcpy(&out, &f, sizeof out);
    return out;
}

struct Bo {
    uint32_t handle = 0;
    uint64_t iova = 0, size = 0, mmap_offset = 0, obj_addr = 0;
    uint32_t flags = 0;
    int memfd = -1;
    uint8_t* view = nullptr;  // the shim's own mapping, shared with the client's
};

// One open() of the node: an address space of its own, as the drivers give every fd.
struct FakeFd {
    std::map<uint32_t, Bo> bos;
    uint32_t next_handle = 1;
    uint64_t next_iova = 0;
    uint64_t next_offset = uint64_t{1} << 32;
    std::vector<uint32_t> hung;  // outputs of a job the core could not run: PREP_BO times out
    std::unique_ptr<Simulator> simulator;
    // Held for the fd's ioctls and mmaps: the fds of a process run their jobs at once, each on
    // its own simulated core, as the three NPU cores do.
    std::mutex mutex;
};

std::mutex g_mutex;  // the tables of fds and heaps
// Never destroyed: used until the process ends. Made on the first open of a simulated node.
std::map<int, FakeFd>* g_fds = nullptr;
std::map<int, std::string>* g_heaps = nullptr;  // open heap fds, by fd
std::atomic<bool> g_any_opened{false};  // until then, every call passes straight through
std::map<int, FakeFd>& fds() {
    if (!g_fds) g_fds = new std::map<int, FakeFd>();
    return *g_fds;
}
std::map<int, std::string>& heaps() {
    if (!g_heaps) g_heaps = new std::map<int, std::string>();
    return *g_heaps;
}
bool maybe_ours(int fd) { return fd >= 0 && g_any_opened.load(std::memory_order_acquire); }

uint8_t* resolve(FakeFd& f, uint64_t iova, size_t bytes) {
    for (auto& [h, bo] : f.bos)
        if (iova >= bo.iova && iova + bytes <= bo.iova + bo.size) return bo.view + (iova - bo.iova);
    throw NpuError("IOMMU fault at NPU address " + std::to_string(iova));
}

int fail(int error) {
    errno = error;
    return -1;
}

int create_bo(FakeFd& f, uint64_t size, uint32_t flags, Bo*& out) {
    if (size == 0) return fail(EINVAL);
    const uint64_t pages = (size + 4095) / 4096 * 4096;
    if (f.next_iova + pages > (uint64_t{1} << 32)) return fail(ENOMEM);
    Bo bo;
    bo.memfd = memfd_create("rockllm-fake-npu-bo", MFD_CLOEXEC);
    if (bo.memfd < 0 || ftruncate(bo.memfd, static_cast<off_t>(pages)) != 0) return fail(ENOMEM);
    void* view = real<void* (*)(void*, size_t, int, int, int, off_t)>("mmap")(nullptr, pages, PROT_READ | PROT_WRITE, MAP_SHARED, bo.memfd, 0);
    if (view == MAP_FAILED) return fail(ENOMEM);
    bo.view = static_cast<uint8_t*>(view);
    bo.handle = f.next_handle++;
    bo.size = size;
    bo.flags = flags;
    bo.iova = f.next_iova;
    f.next_iova += pages;
    bo.mmap_offset = f.next_offset;
    f.next_offset += pages;
    bo.obj_addr = 0xffff000000000000ull | (uint64_t{bo.handle} << 12);
    out = &(f.bos[bo.handle] = bo);
    return 0;
}

// PRIME import: the dma-buf (a memory file here) becomes a BO of this fd, mapped at a new IOVA.
int import_bo(FakeFd& f, int dmabuf, uint32_t& handle) {
    const off_t size = lseek(dmabuf, 0, SEEK_END);
    if (size <= 0) return fail(EINVAL);
    const uint64_t pages = (static_cast<uint64_t>(size) + 4095) / 4096 * 4096;
    if (f.next_iova + pages > (uint64_t{1} << 32)) return fail(ENOMEM);
    Bo bo;
    bo.memfd = fcntl(dmabuf, F_DUPFD_CLOEXEC, 0);
    if (bo.memfd < 0) return fail(EINVAL);
    void* view = real<void* (*)(void*, size_t, int, int, int, off_t)>("mmap")(nullptr, pages, PROT_READ | PROT_WRITE, MAP_SHARED, bo.memfd, 0);
    if (view == MAP_FAILED) {
        real<int (*)(int)>("close")(bo.memfd);
        return fail(ENOMEM);
    }
    bo.view = static_cast<uint8_t*>(view);
    bo.handle = f.next_handle++;
    bo.size = static_cast<uint64_t>(size);
    bo.iova = f.next_iova;
    f.next_iova += pages;
    bo.mmap_offset = f.next_offset;
    f.next_offset += pages;
    bo.obj_addr = 0xffff000000000000ull | (uint64_t{bo.handle} << 12);
    f.bos[bo.handle] = bo;
    handle = bo.handle;
    return 0;
}

int heap_ioctl(unsigned long request, void* arg) {
    if (request != uapi::dma_heap::kAlloc) return fail(ENOTTY);
    auto* a = static_cast<uapi::dma_heap::AllocationData*>(arg);
    if (a->len == 0 || a->heap_flags != 0) return fail(EINVAL);
    const int fd = memfd_create("rockllm-fake-dma-buf", MFD_CLOEXEC);
    if (fd < 0 || ftruncate(fd, static_cast<off_t>(a->len)) != 0) return fail(ENOMEM);
    a->fd = static_cast<uint32_t>(fd);
    return 0;
}

void destroy_bo(FakeFd& f, uint32_t handle) {
    auto it = f.bos.find(handle);
    if (it == f.bos.end()) return;
    munmap(it->second.view, (it->second.size + 4095) / 4096 * 4096);
    real<int (*)(int)>("close")(it->second.memfd);
    f.bos.erase(it);
}

int answer_version(drm_version_t* v) {
    const std::string name = mode() == Mode::Rocket ? "rocket" : "rknpu";
    const std::string date = "20260101", desc = "rockllm simulated NPU";
    auto put = [](char* dst, size_t& len, const std::string& s) {
        if (dst && len) std::memcpy(dst, s.data(), std::min(len, s.size()));
        len = s.size();
    };
    v->version_major = mode() == Mode::Rocket ? 1 : 0;
    v->version_minor = mode() == Mode::Rocket ? 0 : 9;
    v->version_patchlevel = mode() == Mode::Rocket ? 0 : 8;
    put(v->name, v->name_len, name);
    put(v->date, v->date_len, date);
    put(v->desc, v->desc_len, desc);
    return 0;
}

int rocket_ioctl(FakeFd& f, unsigned long request, void* arg) {
    namespace r = uapi::rocket;
    if (request == r::kCreateBo) {
        auto* c = static_cast<r::CreateBo*>(arg);
        Bo* bo;
        if (create_bo(f, c->size, 0, bo) != 0) return -1;
        c->handle = bo->handle;
        c->dma_address = bo->iova;
        c->offset = bo->mmap_offset;
        return 0;
    }
    if (request == r::kPrepBo) {
        auto* p = static_cast<r::PrepBo*>(arg);
        if (!f.bos.count(p->handle) || p->reserved) return fail(EINVAL);
        for (auto it = f.hung.begin(); it != f.hung.end(); ++it)
            if (*it == p->handle) {
                f.hung.erase(it);
                return fail(ETIMEDOUT);
            }
        return 0;
    }
    if (request == r::kFiniBo) return f.bos.count(static_cast<r::FiniBo*>(arg)->handle) ? 0 : fail(EINVAL);
    if (request == r::kSubmit) {
        auto* s = static_cast<r::Submit*>(arg);
        if (s->reserved || s->job_struct_size < sizeof(r::Job)) return fail(EINVAL);
        for (uint32_t j = 0; j < s->job_count; ++j) {
            r::Job job;
            std::memcpy(&job, reinterpret_cast<const uint8_t*>(s->jobs) + size_t{j} * s->job_struct_size, sizeof job);
            if (job.task_count == 0 || job.task_struct_size < sizeof(r::Task)) continue;  // dropped, and SUBMIT still says 0
            std::vector<uint32_t> outputs(job.out_bo_handle_count);
            std::memcpy(outputs.data(), reinterpret_cast<const void*>(job.out_bo_handles), outputs.size() * 4);
            bool handles_ok = true;
            for (uint32_t h : outputs) handles_ok = handles_ok && f.bos.count(h);
            if (!handles_ok) continue;
            if (next_job_hangs()) {
                std::fprintf(stderr, "rockllm-fake-npu: ROCKLLM_NPU_FAULT: this job hangs the core\n");
                f.hung.insert(f.hung.end(), outputs.begin(), outputs.end());
                continue;
            }
            // The kernel kicks each task on its own (TASK_NUMBER 1, its address and amount written
            // by the kernel) and resets the core when the job passes its 500 ms timeout; the
            // simulated core runs at mainline's boot clock.
            try {
                double seconds = 0;
                for (uint32_t t = 0; t < job.task_count; ++t) {
                    r::Task task;
                    std::memcpy(&task, reinterpret_cast<const uint8_t*>(job.tasks) + size_t{t} * job.task_struct_size, sizeof task);
                    seconds += f.simulator->run_task(task.regcmd, task.regcmd_count);
                }
                if (seconds > kRocketJobTimeoutS)
                    throw NpuError("the job takes " + std::to_string(int(seconds * 1000)) + " ms at 200 MHz, past Rocket's 500 ms job timeout");
            } catch (const NpuError& e) {
                std::fprintf(stderr, "rockllm-fake-npu: the job hangs the core: %s\n", e.what());
                f.hung.insert(f.hung.end(), outputs.begin(), outputs.end());
            }
        }
        return 0;
    }
    return fail(ENOTTY);
}

// SUBMIT as rknpu_job.c runs it on RK3588: EINVAL for no tasks or a mask above 7; masks 5 and 6
// are queued and never committed (the wait gives up with EINVAL); mask 0 puts the job on the
// core the driver picks (here each in turn, so a job must be runnable on any of them). Each core
// of the mask runs the task range of its subcore_task entry in PC mode: the PC gets the first
// task's list and TASK_NUMBER, and the job completes when the folded interrupt status equals the
// last task's int_mask. Anything else waits out the timeout: ETIMEDOUT, task_counter 0.
int rknpu_submit(FakeFd& f, uapi::rknpu::Submit& s) {
    namespace k = uapi::rknpu;
    if (!(s.flags & k::kJobPc)) return fail(EINVAL);
    if (s.task_number == 0) return fail(EINVAL);
    s.task_counter = 0;
    const CoreMaskFate fate = core_mask_fate(s.core_mask);
    if (fate == CoreMaskFate::Refused) return fail(EINVAL);
    if (fate == CoreMaskFate::NeverCommitted) {
        std::fprintf(stderr, "rockllm-fake-npu: core mask %u is never committed by the driver; the wait gives up\n", s.core_mask);
        return fail(EINVAL);
    }
    const Bo* tasks = nullptr;
    for (auto& [h, bo] : f.bos)
        if (bo.obj_addr == s.task_obj_addr) tasks = &bo;
    if (!tasks || !(tasks->flags & k::kMemKernelMapping)) return fail(EINVAL);  // the kernel reads tasks through its own mapping
    if (next_job_hangs()) {
        std::fprintf(stderr, "rockllm-fake-npu: ROCKLLM_NPU_FAULT: this job hangs the core\n");
        return fail(ETIMEDOUT);
    }
    std::vector<int> cores;
    if (s.core_mask == k::kCoreAuto)
        cores.push_back(static_cast<int>(g_auto_core.fetch_add(1) % 3));
    else
        for (int c = 0; c < 3; ++c)
            if (s.core_mask & (1u << c)) cores.push_back(c);
    try {
        for (int core : cores) {
            const int entry = *subcore_entry(s.core_mask, core);
            const k::SubcoreTask range = s.subcore_task[entry];
            if (range.task_number == 0)
                throw NpuError("core " + std::to_string(core) + " runs subcore_task[" + std::to_string(entry) + "], which holds no task");
            if ((size_t{range.task_start} + range.task_number) * sizeof(k::Task) > tasks->size)
                throw NpuError("subcore_task[" + std::to_string(entry) + "] reaches past the task buffer");
            k::Task first, last;
            std::memcpy(&first, tasks->view + size_t{range.task_start} * sizeof first, sizeof first);
            std::memcpy(&last, tasks->view + (size_t{range.task_start} + range.task_number - 1) * sizeof last, sizeof last);
            const Simulator::ChainResult r =
                f.simulator->run_chain(first.regcmd_addr, pc_data_amount(first.regcfg_amount + static_cast<uint32_t>(kTailEntries)), range.task_number);
            if (r.interrupt_status != last.int_mask)
                throw NpuError("the core's interrupt status " + std::to_string(r.interrupt_status) + " never equals the last task's int_mask " +
                               std::to_string(last.int_mask));
            if (r.seconds * 1000 > s.timeout) throw NpuError("the job outlasts the submit's timeout");
        }
    } catch (const NpuError& e) {
        std::fprintf(stderr, "rockllm-fake-npu: the job hangs the core: %s\n", e.what());
        return fail(ETIMEDOUT);
    }
    s.task_counter = s.task_number;
    return 0;
}

int rknpu_ioctl(FakeFd& f, unsigned long request, void* arg) {
    namespace k = uapi::rknpu;
    if (request == k::kAction) {
        auto* a = static_cast<k::Action*>(arg);
        if (a->flags == k::kActionGetDrvVersion) a->value = 908;  // 0.9.8
        else if (a->flags == k::kActionGetHwVersion) a->value = 0x46495245;
        else return fail(EINVAL);
        return 0;
    }
    if (request == k::kMemCreate) {
        auto* c = static_cast<k::MemCreate*>(arg);
        Bo* bo;
        if (c->handle != 0) {
            // An existing object (a PRIME import): nothing is allocated, its token and address are reported.
            auto it = f.bos.find(c->handle);
            if (it == f.bos.end()) return fail(EINVAL);
            c->obj_addr = it->second.obj_addr;
            c->dma_addr = it->second.iova;
            return 0;
        }
        if (create_bo(f, c->size, c->flags, bo) != 0) return -1;
        c->handle = bo->handle;
        c->obj_addr = bo->obj_addr;
        c->dma_addr = bo->iova;
        return 0;
    }
    if (request == k::kMemMap) {
        auto* m = static_cast<k::MemMap*>(arg);
        auto it = f.bos.find(m->handle);
        if (it == f.bos.end()) return fail(EINVAL);
        m->offset = it->second.mmap_offset;
        return 0;
    }
    if (request == k::kMemDestroy) {
        auto* d = static_cast<k::MemDestroy*>(arg);
        if (!f.bos.count(d->handle)) return fail(EINVAL);
        destroy_bo(f, d->handle);
        return 0;
    }
    if (request == k::kMemSync) {
        auto* s = static_cast<k::MemSync*>(arg);
        for (auto& [h, bo] : f.bos)
            if (bo.obj_addr == s->obj_addr) return s->offset + s->size <= bo.size ? 0 : fail(EINVAL);
        return fail(EINVAL);
    }
    if (request == k::kSubmit) return rknpu_submit(f, *static_cast<k::Submit*>(arg));
    return fail(ENOTTY);
}

int register_fd(int fd) {
    std::lock_guard lock(g_mutex);
    FakeFd& f = fds()[fd];
    g_any_opened.store(true, std::memory_order_release);
    // Rocket's cores run at mainline's boot clock (200 MHz); the vendor's BSP at 1 GHz.
    const TimingModel timing = mode() == Mode::Rocket ? worst_case_timing() : TimingModel{};
    f.simulator = std::make_unique<Simulator>([&f](uint64_t iova, size_t bytes) { return resolve(f, iova, bytes); }, timing);
    static bool announced = false;
    if (!announced) {
        std::fprintf(stderr, "rockllm: NPU simulated (ROCKLLM_NPU_SIMULATE=%s): %s is a register-level simulator, not hardware\n",
                     mode() == Mode::Rocket ? "rocket" : "rknpu", node_path());
        announced = true;
    }
    return fd;
}

int open_node() {
    const int fd = memfd_create("rockllm-fake-npu", MFD_CLOEXEC);
    return fd < 0 ? -1 : register_fd(fd);
}

int open_heap(const char* path) {
    const int fd = memfd_create("rockllm-fake-dma-heap", MFD_CLOEXEC);
    if (fd < 0) return -1;
    std::lock_guard lock(g_mutex);
    heaps()[fd] = path;
    g_any_opened.store(true, std::memory_order_release);
    return fd;
}

}  // namespace

extern "C" {

int open(const char* path, int flags, ...) {
    mode_t m = 0;
    if (flags & O_CREAT) {
        va_list args;
        va_start(args, flags);
        m = static_cast<mode_t>(va_arg(args, int));
        va_end(args);
    }
    if (is_node(path)) return open_node();
    if (is_heap(path)) return open_heap(path);
    return real<int (*)(const char*, int, ...)>("open")(path, flags, m);
}
int open64(const char* path, int flags, ...) __attribute__((alias("open")));

int openat(int dirfd, const char* path, int flags, ...) {
    mode_t m = 0;
    if (flags & O_CREAT) {
        va_list args;
        va_start(args, flags);
        m = static_cast<mode_t>(va_arg(args, int));
        va_end(args);
    }
    if (is_node(path)) return open_node();
    if (is_heap(path)) return open_heap(path);
    return real<int (*)(int, const char*, int, ...)>("openat")(dirfd, path, flags, m);
}
int openat64(int dirfd, const char* path, int flags, ...) __attribute__((alias("openat")));

int access(const char* path, int how) {
    if (is_node(path) || is_heap(path)) return 0;
    return real<int (*)(const char*, int)>("access")(path, how);
}

int ioctl(int fd, unsigned long request, ...) {
    va_list args;
    va_start(args, request);
    void* arg = va_arg(args, void*);
    va_end(args);
    if (!maybe_ours(fd)) return real<int (*)(int, unsigned long, void*)>("ioctl")(fd, request, arg);
    FakeFd* f = nullptr;
    {
        std::lock_guard lock(g_mutex);
        if (heaps().count(fd)) return heap_ioctl(request, arg);
        auto it = fds().find(fd);
        if (it != fds().end()) f = &it->second;  // map nodes stay put; the fd is not closed while in use
    }
    if (!f) return real<int (*)(int, unsigned long, void*)>("ioctl")(fd, request, arg);
    std::lock_guard lock(f->mutex);
    if (request == DRM_IOCTL_VERSION) return answer_version(static_cast<drm_version_t*>(arg));
    if (request == DRM_IOCTL_GEM_CLOSE) {
        destroy_bo(*f, static_cast<drm_gem_close*>(arg)->handle);
        return 0;
    }
    if (request == DRM_IOCTL_PRIME_FD_TO_HANDLE) {
        // rknpu imports dma-bufs; Rocket has no import of foreign buffers (rk3588-npu.md §2.4).
        if (mode() == Mode::Rocket) return fail(EINVAL);
        auto* p = static_cast<drm_prime_handle*>(arg);
        return import_bo(*f, p->fd, p->handle);
    }
    return mode() == Mode::Rocket ? rocket_ioctl(*f, request, arg) : rknpu_ioctl(*f, request, arg);
}

void* mmap(void* addr, size_t length, int prot, int flags, int fd, off_t offset) {
    using Mmap = void* (*)(void*, size_t, int, int, int, off_t);
    if (!maybe_ours(fd)) return real<Mmap>("mmap")(addr, length, prot, flags, fd, offset);
    FakeFd* f = nullptr;
    {
        std::lock_guard lock(g_mutex);
        auto it = fds().find(fd);
        if (it != fds().end()) f = &it->second;
    }
    if (f) {
        std::lock_guard lock(f->mutex);
        for (auto& [h, bo] : f->bos)
            if (bo.mmap_offset == static_cast<uint64_t>(offset) && length <= (bo.size + 4095) / 4096 * 4096)
                return real<Mmap>("mmap")(addr, length, prot, flags, bo.memfd, 0);
        errno = EINVAL;
        return MAP_FAILED;
    }
    return real<Mmap>("mmap")(addr, length, prot, flags, fd, offset);
}
void* mmap64(void* addr, size_t length, int prot, int flags, int fd, off_t offset) __attribute__((alias("mmap")));

int close(int fd) {
    if (maybe_ours(fd)) {
        std::lock_guard lock(g_mutex);
        heaps().erase(fd);
        auto it = fds().find(fd);
        if (it != fds().end()) {
            std::vector<uint32_t> handles;
            for (auto& [h, bo] : it->second.bos) handles.push_back(h);
            for (uint32_t h : handles) destroy_bo(it->second, h);
            fds().erase(it);
        }
    }
    return real<int (*)(int)>("close")(fd);
}

}  // extern "C"
