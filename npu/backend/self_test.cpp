#include "npu/backend/self_test.h"
#include "base/half.h"

#include <cmath>
#include <cstring>
#include <random>

#include "llm/ggml_type.h"

namespace rockllm::npu {

ShapeResult check_shape(NpuDevice& device, MatmulType type, int64_t m, int64_t k, int64_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    const size_t a_count = size_t(m * k), b_count = size_t(n * k);
    std::vector<int8_t> a8(a_count), b8(b_count);
    std::vector<uint16_t> a16(a_count), b16(b_count);
    std::uniform_int_distribution<int> small(-128, 127);
    std::normal_distribution<float> normal(0, 1);
    for (size_t i = 0; i < a_count; ++i) type == MatmulType::Int8 ? void(a8[i] = int8_t(small(rng))) : void(a16[i] = fp32_to_fp16(normal(rng)));
    for (size_t i = 0; i < b_count; ++i) type == MatmulType::Int8 ? void(b8[i] = int8_t(small(rng))) : void(b16[i] = fp32_to_fp16(normal(rng)));
    const bool int8 = type == MatmulType::Int8;
    NpuMatmul matmul(device, type, n, k, int8 ? static_cast<const void*>(b8.data()) : b16.data());
    std::vector<uint32_t> c(size_t(m * n));
    matmul.run(int8 ? static_cast<const void*>(a8.data()) : a16.data(), m, c.data());
    const NpuMatmul::CallTimes times = matmul.last_call();
    double worst = 0;
    bool pass = true;
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
            double reference = 0, magnitude = 0;
            for (int64_t x = 0; x < k; ++x) {
                const double p = int8 ? double(a8[size_t(i * k + x)]) * b8[size_t(j * k + x)]
                                      : double(fp16_to_fp32(a16[size_t(i * k + x)])) * fp16_to_fp32(b16[size_t(j * k + x)]);
                reference += p;
                magnitude += std::abs(p);
            }
            const uint32_t bits = c[size_t(i * n + j)];
            if (int8) {
                const double error = std::abs(double(int32_t(bits)) - reference);
                worst = std::max(worst, error);
                pass = pass && error == 0;
            } else {
                float v;
                std::memcpy(&v, &bits, 4);
                const double error = std::abs(v - reference) / std::max(magnitude, 1e-30);
                worst = std::max(worst, error);
                pass = pass && error <= double(k) * 0x1p-24;  // fp32 accumulation of exact fp16 products
            }
        }
    return {worst, pass, times};
}

std::string quick_self_test(NpuCores& cores) {
    struct Shape {
        int64_t m, k, n;
    };
    constexpr Shape kShapes[] = {{1, 64, 40}, {5, 300, 96}, {4, 8300, 32}};
    std::vector<std::string> failures(static_cast<size_t>(cores.count()));
    std::vector<CoreWork> work(static_cast<size_t>(cores.count()));
    for (int core = 0; core < cores.count(); ++core)
        work[static_cast<size_t>(core)] = [&failures, core, &kShapes](NpuDevice& device) {
            uint32_t seed = 100 + static_cast<uint32_t>(core);
            for (const MatmulType type : {MatmulType::Int8, MatmulType::Fp16})
                for (const Shape& s : kShapes) {
                    const std::string what = std::string(type == MatmulType::Int8 ? "int8 " : "fp16 ") + std::to_string(s.m) + "x" +
                                             std::to_string(s.k) + "x" + std::to_string(s.n) + " on core " + std::to_string(core);
                    try {
                        if (!check_shape(device, type, s.m, s.k, s.n, seed++).pass) failures[static_cast<size_t>(core)] = what + " gave wrong results";
                    } catch (const std::exception& e) {
                        failures[static_cast<size_t>(core)] = what + ": " + e.what();
                    }
                    if (!failures[static_cast<size_t>(core)].empty()) return CoreWorkResult{};
                }
            return CoreWorkResult{};
        };
    cores.run(work);
    for (const std::string& f : failures)
        if (!f.empty()) return f;
    return "";
}

}  // namespace rockllm::npu
