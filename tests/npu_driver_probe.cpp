// A small program that drives the NPU driver layer directly, for the fault tests: run with the
// simulated device preloaded (LD_PRELOAD=librockllm_fake_npu.so, ROCKLLM_NPU_SIMULATE=rocket|rknpu).
//   npu_driver_probe hang     a task the core cannot run: the wait must time out with an error
//   npu_driver_probe dropped  an output the job never writes: the canary check must notice
//   npu_driver_probe ok       a correct task: must succeed
//   npu_driver_probe rules    (rknpu) raw submits that break one rule of the vendor driver each, and
//                             the right ones beside them: one line "<case>: ok|<errno name>" each
//   npu_driver_probe rocket-limit  (Rocket) one job of twelve 48 ms tasks (at 200 MHz) passes the
//                             500 ms job timeout; the same tasks through the driver layer are split
//   npu_driver_probe grid     int8 and fp16 matmuls over M ∈ {1,2,7,64,129}, K and N ∈ {8,100,4100}
//                             (and K 9000, past the split; sanitizer builds leave out M ≥ 7 with
//                             K = N = 4100) through NpuMatmul, entries sampled
//                             against a CPU reference (exact for int8, K·2^-24 of the products for fp16)
// Prints "error: <message>" or "ok" and exits 0 either way (the test reads the line).
#include <cstdio>
#include <cerrno>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <random>

#include "base/half.h"
#include "npu/drm_device.h"
#include "npu/matmul_task.h"
#include "npu/npu_matmul.h"
#include "npu/regcmd.h"
#include "npu/rknpu_subcore.h"
#include "npu/uapi/rknpu.h"
#include "npu/uapi/rocket.h"

using namespace rockllm::npu;

namespace {

// One shape through the device; "" when every sampled entry matches, else what differs.
// The three largest shapes (M ≥ 7 with K = N = 4100) are nearly all of the grid's simulated work:
// the sanitizer builds, ten times slower, leave them to the release build.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

std::string check_grid_shape(NpuDevice& device, MatmulType type, int64_t m, int64_t k, int64_t n) {
    std::mt19937 rng(static_cast<uint32_t>(m * 131 + k * 7 + n + (type == MatmulType::Fp16)));
    const bool int8 = type == MatmulType::Int8;
    std::vector<int8_t> a8(size_t(m * k)), b8(size_t(n * k));
    std::vector<uint16_t> a16(a8.size()), b16(b8.size());
    std::uniform_int_distribution<int> small(-128, 127);
    std::normal_distribution<float> normal(0, 1);
    for (size_t i = 0; i < a8.size(); ++i) int8 ? void(a8[i] = int8_t(small(rng))) : void(a16[i] = rockllm::fp32_to_fp16(normal(rng)));
    for (size_t i = 0; i < b8.size(); ++i) int8 ? void(b8[i] = int8_t(small(rng))) : void(b16[i] = rockllm::fp32_to_fp16(normal(rng)));
    NpuMatmul matmul(device, type, n, k, int8 ? static_cast<const void*>(b8.data()) : b16.data());
    std::vector<uint32_t> c(size_t(m * n));
    matmul.run(int8 ? static_cast<const void*>(a8.data()) : a16.data(), m, c.data());
    std::vector<std::pair<int64_t, int64_t>> samples;
    for (int64_t r : {int64_t{0}, m / 2, m - 1})
        for (int64_t j : {int64_t{0}, n / 2, n - 1}) samples.emplace_back(r, j);
    for (int i = 0; i < 16; ++i) samples.emplace_back(int64_t(rng() % uint32_t(m)), int64_t(rng() % uint32_t(n)));
    for (const auto& [r, j] : samples) {
        double reference = 0, magnitude = 0;
        for (int64_t x = 0; x < k; ++x) {
            const double p = int8 ? double(a8[size_t(r * k + x)]) * b8[size_t(j * k + x)]
                                  : double(rockllm::fp16_to_fp32(a16[size_t(r * k + x)])) * rockllm::fp16_to_fp32(b16[size_t(j * k + x)]);
            reference += p;
            magnitude += std::abs(p);
        }
        const uint32_t bits = c[size_t(r * n + j)];
        float value;
        std::memcpy(&value, &bits, 4);
        const bool ok = int8 ? double(int32_t(bits)) == reference : std::abs(value - reference) <= double(k) * 0x1p-24 * magnitude;
        if (!ok)
            return std::string(int8 ? "int8" : "fp16") + " M=" + std::to_string(m) + " K=" + std::to_string(k) + " N=" + std::to_string(n) +
                   " at (" + std::to_string(r) + "," + std::to_string(j) + ")";
    }
    return "";
}


// A raw rknpu buffer: MEM_CREATE, MEM_MAP, mmap.
struct RawBo {
    uint32_t handle = 0;
    uint64_t obj_addr = 0, dma = 0;
    uint8_t* host = nullptr;
};
RawBo rknpu_bo(int fd, size_t bytes, uint32_t flags = 0) {
    namespace k = uapi::rknpu;
    k::MemCreate create{};
    create.flags = k::kMemNonContiguous | k::kMemIommu | k::kMemZeroing | flags;
    create.size = bytes;
    if (ioctl(fd, k::kMemCreate, &create) != 0) throw NpuError("MEM_CREATE");
    k::MemMap map{create.handle, 0, 0};
    if (ioctl(fd, k::kMemMap, &map) != 0) throw NpuError("MEM_MAP");
    void* host = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, static_cast<off_t>(map.offset));
    if (host == MAP_FAILED) throw NpuError("mmap");
    return {create.handle, create.obj_addr, create.dma_addr, static_cast<uint8_t*>(host)};
}

std::string errno_name(int e) {
    if (e == EINVAL) return "EINVAL";
    if (e == ETIMEDOUT) return "ETIMEDOUT";
    return "errno " + std::to_string(e);
}

// Each case submits two 4×32×32 int8 tasks (one list each in one buffer, outputs of their own),
// changed in one way, and prints "<case>: ok" when SUBMIT succeeded and both outputs are right.
void rknpu_rules(const std::string& path) {
    namespace k = uapi::rknpu;
    const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) throw NpuError("open " + path);
    const MatmulShape shape{4, 32, 32};
    std::vector<int8_t> a(size_t(shape.m * shape.k)), b(size_t(shape.n * shape.k));
    for (size_t i = 0; i < a.size(); ++i) a[i] = int8_t(i * 7 % 23 - 11);
    for (size_t i = 0; i < b.size(); ++i) b[i] = int8_t(i * 5 % 19 - 9);
    const RawBo feature = rknpu_bo(fd, feature_bytes(shape, MatmulType::Int8)), weights = rknpu_bo(fd, weight_bytes(shape, MatmulType::Int8));
    pack_feature(a.data(), shape.k, shape, MatmulType::Int8, feature.host);
    pack_weights(b.data(), shape.k, shape, MatmulType::Int8, weights.host);
    const RawBo out[2] = {rknpu_bo(fd, output_bytes(shape)), rknpu_bo(fd, output_bytes(shape))};
    const RawBo lists = rknpu_bo(fd, 4096), descriptors = rknpu_bo(fd, 4096, k::kMemKernelMapping);
    int32_t expected = 0;
    for (int64_t x = 0; x < shape.k; ++x) expected += int32_t(a[size_t(x)]) * b[size_t(x)];

    struct Case {
        std::string name;
        uint32_t core_mask = 1;
        std::vector<std::pair<int, uint32_t>> entries{{0, 2}};  // subcore_task[i] = {0, n}
        bool linked = true;
        uint32_t last_int_mask = 0x300;
        uint32_t enable = enable::kMatmul;
        uint32_t task_number = 2;
    };
    std::vector<Case> cases = {
        {"chained on core 0"},
        {"chained on core 1", 2, {{1, 2}}},
        {"chained on core 2", 4, {{2, 2}}},
        {"auto core, entries 0-2", 0, {{0, 2}, {1, 2}, {2, 2}}},
        {"auto core, entry 0 only", 0, {{0, 2}}},
        {"core 1, entry 0 only", 2, {{0, 2}}},
        {"three cores, entries 2-4", 7, {{2, 2}, {3, 2}, {4, 2}}},
        {"three cores, entries 0-2", 7, {{0, 2}, {1, 2}, {2, 2}}},
        {"core mask 5", 5, {{0, 2}, {2, 2}}},
        {"core mask 8", 8, {{0, 2}}},
        {"no tasks", 1, {{0, 2}}, true, 0x300, enable::kMatmul, 0},
        {"tails not chained", 1, {{0, 2}}, false},
        {"int_mask of the CNA", 1, {{0, 2}}, true, 0x3},
        {"DPU_RDMA enabled without its registers", 1, {{0, 2}}, true, 0x300, enable::kMatmul | enable::kDpuRdma},
    };
    for (const Case& c : cases) {
        // Three rounds: a core mask of 0 lets the driver pick any core.
        std::string result = "ok";
        for (int round = 0; round < 3 && result == "ok"; ++round) {
            std::vector<uint64_t> t[2];
            size_t offset[2] = {0, 1024};
            for (int i = 0; i < 2; ++i) {
                t[i] = build_matmul_task(shape, MatmulType::Int8, {feature.dma, weights.dma, out[i].dma});
                t[i].back() = encode_entry(kOpEnableTarget, c.enable, pc::kOperationEnable.offset);
                std::memset(out[i].host, 0xA5, output_bytes(shape));
            }
            if (c.linked) link_tail(t[0].data(), uint32_t(t[0].size()), lists.dma + offset[1], uint32_t(t[1].size()));
            for (int i = 0; i < 2; ++i) {
                std::memcpy(lists.host + offset[i], t[i].data(), t[i].size() * 8);
                k::Task d{};
                d.enable_mask = c.enable;
                d.int_mask = i == 1 ? c.last_int_mask : 0x300;
                d.int_clear = 0x1FFFF;
                d.regcfg_amount = uint32_t(t[i].size() - kTailEntries);
                d.regcmd_addr = lists.dma + offset[i];
                std::memcpy(descriptors.host + i * sizeof d, &d, sizeof d);
            }
            k::Submit submit{};
            submit.flags = k::kJobPc | k::kJobBlock | k::kJobPingPong;
            submit.timeout = 6000;
            submit.task_number = c.task_number;
            submit.task_obj_addr = descriptors.obj_addr;
            submit.core_mask = c.core_mask;
            submit.fence_fd = -1;
            for (const auto& [entry, n] : c.entries) submit.subcore_task[entry] = {0, n};
            if (ioctl(fd, k::kSubmit, &submit) != 0) {
                result = errno_name(errno);
                break;
            }
            for (int i = 0; i < 2; ++i) {
                std::vector<int32_t> got(size_t(shape.m * shape.n));
                unpack_output(out[i].host, shape, MatmulType::Int8, got.data(), shape.n);
                if (got[0] != expected) result = "output " + std::to_string(i) + " wrong";
            }
        }
        std::printf("%s: %s\n", c.name.c_str(), result.c_str());
    }
    ::close(fd);
}

// Twelve tasks of 176×2048×8192 int8 (CBUF-sized; zero features: quick to simulate), ~48 ms each
// at 200 MHz: one raw job of all twelve, then the same tasks through the driver layer, which splits them.
void rocket_limit(const std::string& path) {
    namespace r = uapi::rocket;
    const MatmulShape shape{176, 2048, 8192};
    constexpr size_t kTasks = 12;
    const double task_seconds = project_task(shape, MatmulType::Int8, worst_case_timing()).seconds;
    std::printf("task at 200 MHz: %d ms\n", int(task_seconds * 1000));
    {
        const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
        if (fd < 0) throw NpuError("open " + path);
        auto bo = [&](size_t bytes) {
            r::CreateBo c{};
            c.size = uint32_t(bytes);
            if (ioctl(fd, r::kCreateBo, &c) != 0) throw NpuError("CREATE_BO");
            void* host = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, static_cast<off_t>(c.offset));
            if (host == MAP_FAILED) throw NpuError("mmap");
            return DeviceBuffer{c.handle, c.dma_address, static_cast<uint8_t*>(host), bytes};
        };
        const DeviceBuffer feature = bo(feature_bytes(shape, MatmulType::Int8)), weights = bo(weight_bytes(shape, MatmulType::Int8));
        const DeviceBuffer commands = bo(kTasks * 1024);
        std::vector<r::Task> list;
        std::vector<uint32_t> outs;
        for (size_t i = 0; i < kTasks; ++i) {
            const DeviceBuffer out = bo(output_bytes(shape));
            const std::vector<uint64_t> regcmd = build_matmul_task(shape, MatmulType::Int8, {feature.iova, weights.iova, out.iova});
            std::memcpy(commands.host + i * 1024, regcmd.data(), regcmd.size() * 8);
            list.push_back({uint32_t(commands.iova + i * 1024), uint32_t(regcmd.size())});
            outs.push_back(out.handle);
        }
        r::Job job{};
        job.tasks = reinterpret_cast<uintptr_t>(list.data());
        job.task_count = uint32_t(list.size());
        job.task_struct_size = sizeof(r::Task);
        job.out_bo_handles = reinterpret_cast<uintptr_t>(outs.data());
        job.out_bo_handle_count = uint32_t(outs.size());
        r::Submit submit{};
        submit.jobs = reinterpret_cast<uintptr_t>(&job);
        submit.job_count = 1;
        submit.job_struct_size = sizeof job;
        if (ioctl(fd, r::kSubmit, &submit) != 0) throw NpuError("SUBMIT");
        r::PrepBo prep{outs.back(), 0, INT64_MAX};
        std::printf("one job of twelve: %s\n", ioctl(fd, r::kPrepBo, &prep) == 0 ? "ok" : errno_name(errno).c_str());
        ::close(fd);
    }
    auto device = open_npu_device({DriverKind::Rocket, path, ""});
    const DeviceBuffer feature = device->allocate(feature_bytes(shape, MatmulType::Int8));
    const DeviceBuffer weights = device->allocate(weight_bytes(shape, MatmulType::Int8));
    const DeviceBuffer commands = device->allocate(kTasks * 1024);
    std::vector<TaskRef> tasks;
    for (size_t i = 0; i < kTasks; ++i) {
        const DeviceBuffer out = device->allocate(output_bytes(shape));
        const std::vector<uint64_t> list = build_matmul_task(shape, MatmulType::Int8, {feature.iova, weights.iova, out.iova});
        std::memcpy(commands.host + i * 1024, list.data(), list.size() * 8);
        tasks.push_back({commands, i * 1024, uint32_t(list.size()), out, task_seconds});
    }
    device->cpu_write_done(commands);
    try {
        device->run(tasks);
        std::printf("through the driver layer: ok\n");
    } catch (const NpuError& e) {
        std::printf("through the driver layer: %s\n", e.what());
    }
}

}  // namespace

int main(int argc, char** argv) {
    const std::string scenario = argc > 1 ? argv[1] : "ok";
    try {
        if (scenario == "rules" || scenario == "rocket-limit") {
            const auto node = find_npu_node();
            if (!node) throw NpuError("no NPU node");
            if (scenario == "rules") rknpu_rules(node->path);
            else rocket_limit(node->path);
            return 0;
        }
        if (scenario == "grid") {
            const auto node = find_npu_node();
            if (!node) throw NpuError("no NPU node");
            auto device = open_npu_device(*node);
            int shapes = 0;
            for (const MatmulType type : {MatmulType::Int8, MatmulType::Fp16}) {
                for (const int64_t m : {1, 2, 7, 64, 129})
                    for (const int64_t k : {8, 100, 4100})
                        for (const int64_t n : {8, 100, 4100}) {
                            if (kSanitized && m * k * n > 100'000'000) continue;  // the release build runs them
                            if (const std::string e = check_grid_shape(*device, type, m, k, n); !e.empty()) throw NpuError("mismatch: " + e);
                            ++shapes;
                        }
                for (const int64_t m : {1, 129}) {  // K past the 8192 split
                    if (const std::string e = check_grid_shape(*device, type, m, 9000, 40); !e.empty()) throw NpuError("mismatch: " + e);
                    ++shapes;
                }
            }
            std::printf("ok: %d shapes\n", shapes);
            return 0;
        }
        const auto node = find_npu_node();
        if (!node) throw NpuError("no NPU node");
        auto device = open_npu_device(*node);
        const MatmulShape shape{4, 32, 32};
        const DeviceBuffer a = device->allocate(feature_bytes(shape, MatmulType::Int8));
        const DeviceBuffer b = device->allocate(weight_bytes(shape, MatmulType::Int8));
        const DeviceBuffer c = device->allocate(output_bytes(shape));
        const DeviceBuffer unrelated = device->allocate(4096);
        std::vector<uint64_t> regcmd = build_matmul_task(shape, MatmulType::Int8, {a.iova, b.iova, c.iova});
        if (scenario == "hang") {
            // Depthwise convolution: not a configuration the core (simulator) runs.
            for (uint64_t& e : regcmd)
                if (decode_entry(e).offset == cna::kConvCon1.offset) e = encode_entry(uint16_t(Block::Cna), 3, cna::kConvCon1.offset);
        }
        const DeviceBuffer commands = device->allocate(regcmd.size() * 8);
        std::memcpy(commands.host, regcmd.data(), regcmd.size() * 8);
        for (const DeviceBuffer& buffer : {a, b, commands}) device->cpu_write_done(buffer);
        device->run({{commands, 0, static_cast<uint32_t>(regcmd.size()), scenario == "dropped" ? unrelated : c, 0}});
        std::printf("ok\n");
    } catch (const std::exception& e) {
        std::printf("error: %s\n", e.what());
    }
    return 0;
}
