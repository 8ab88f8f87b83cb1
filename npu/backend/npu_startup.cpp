#include "npu/backend/npu_startup.h"

#include <cstdlib>
#include <stdexcept>

#include "npu/backend/self_test.h"
#include "npu/drm_device.h"

namespace rockllm::npu {

BackendChoice backend_choice(const std::optional<std::string>& flag) {
    const char* env = std::getenv("ROCKLLM_BACKEND");
    const std::string v = flag ? *flag : env && *env ? env : "auto";
    if (v == "auto") return BackendChoice::Auto;
    if (v == "npu") return BackendChoice::Npu;
    if (v == "cpu") return BackendChoice::Cpu;
    throw std::invalid_argument("the backend must be auto, npu or cpu, not \"" + v + "\"");
}

MatmulType npu_type_from_environment() {
    const char* env = std::getenv("ROCKLLM_NPU_DTYPE");
    const std::string v = env && *env ? env : "int8";
    if (v == "int8") return MatmulType::Int8;
    if (v == "fp16") return MatmulType::Fp16;
    throw std::invalid_argument("ROCKLLM_NPU_DTYPE must be int8 or fp16, not \"" + v + "\"");
}

const char* matmul_type_name(MatmulType type) { return type == MatmulType::Int8 ? "int8" : "fp16"; }

NpuStartup start_npu(BackendChoice choice) {
    NpuStartup s;
    if (choice == BackendChoice::Cpu) return s;
    try {
        const auto node = find_npu_node();
        if (!node) {
            s.reason = "no NPU found (no /dev/accel/accel* of the rocket driver, no DRM node named rknpu)";
            return s;
        }
        auto cores = NpuCores::open(*node);
        const std::string failure = quick_self_test(*cores);
        if (!failure.empty()) {
            s.reason = "the NPU (" + cores->description() + ") failed its self-test: " + failure;
            return s;
        }
        s.cores = std::move(cores);
    } catch (const std::exception& e) {
        s.reason = std::string("the NPU cannot be used: ") + e.what();
    }
    return s;
}

}  // namespace rockllm::npu
