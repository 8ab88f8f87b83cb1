// A small program that drives the NPU driver layer directly, for the fault tests: run with the
// simulated device preloaded (LD_PRELOAD=librockllm_fake_npu.so, ROCKLLM_NPU_SIMULATE=rocket|rknpu).
//   npu_driver_probe hang     a task the core cannot run: the wait must time out with an error
//   npu_driver_probe dropped  an output the job never writes: the canary check must notice
//   npu_driver_probe ok       a correct task: must succeed
//   npu_driver_probe grid     int8 and fp16 matmuls over M ∈ {1,2,7,64,129}, K and N ∈ {8,100,4100}
//                             (and K 9000, past the split) through NpuMatmul, entries sampled
//                             against a CPU reference (exact for int8, K·2^-24 of the products for fp16)
// Prints "error: <message>" or "ok" and exits 0 either way (the test reads the line).
#include <cstdio>
#include <cstring>
#include <string>

#include <cmath>
#include <random>

#include "base/half.h"
#include "npu/drm_device.h"
#include "npu/matmul_task.h"
#include "npu/npu_matmul.h"

using namespace rockllm::npu;

namespace {

// One shape through the device; "" when every sampled entry matches, else what differs.
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

}  // namespace

int main(int argc, char** argv) {
    const std::string scenario = argc > 1 ? argv[1] : "ok";
    try {
        if (scenario == "grid") {
            const auto node = find_npu_node();
            if (!node) throw NpuError("no NPU node");
            auto device = open_npu_device(*node);
            int shapes = 0;
            for (const MatmulType type : {MatmulType::Int8, MatmulType::Fp16}) {
                for (const int64_t m : {1, 2, 7, 64, 129})
                    for (const int64_t k : {8, 100, 4100})
                        for (const int64_t n : {8, 100, 4100}) {
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
        device->run({{commands.iova, static_cast<uint32_t>(regcmd.size())}}, {scenario == "dropped" ? unrelated : c});
        std::printf("ok\n");
    } catch (const std::exception& e) {
        std::printf("error: %s\n", e.what());
    }
    return 0;
}
