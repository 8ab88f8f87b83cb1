#include "daemon/command_backend.h"

#include <cstdio>
#include <stdexcept>

#include "daemon/command_line.h"

namespace rockllm {

CommandBackend backend_for_command(const Model& model, const std::optional<std::string>& backend_flag) {
    npu::BackendChoice choice;
    try {
        choice = npu::backend_choice(backend_flag);
    } catch (const std::invalid_argument& e) {
        throw UsageError(std::string("--backend: ") + e.what());
    }
    CommandBackend out;
    out.startup = npu::start_npu(choice);
    if (choice == npu::BackendChoice::Npu && !out.startup.cores) throw std::runtime_error("--backend npu: " + out.startup.reason);
    if (!out.startup.cores) {
        if (choice == npu::BackendChoice::Auto && out.startup.reason.rfind("no NPU found", 0) != 0)
            std::fprintf(stderr, "rockllm: running on the CPU: %s\n", out.startup.reason.c_str());
        return out;
    }
    npu::NpuModelOptions o;
    o.type = npu::npu_type_from_environment();
    o.log = [](const std::string& line) { std::fprintf(stderr, "rockllm: %s\n", line.c_str()); };
    ThreadPool conversion_pool(default_thread_count());
    out.model = std::make_unique<npu::NpuModel>(model, *out.startup.cores, o, conversion_pool);
    return out;
}

}  // namespace rockllm
