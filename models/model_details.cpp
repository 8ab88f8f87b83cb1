#include "models/model_details.h"

#include <cmath>
#include <cstdio>
#include <variant>

namespace rockllm {

namespace {

// The machine, named as Go's GOARCH (Ollama records runtime.GOARCH in the config).
#if defined(__x86_64__)
constexpr const char* kGoArchitecture = "amd64";
#elif defined(__aarch64__)
constexpr const char* kGoArchitecture = "arm64";
#else
constexpr const char* kGoArchitecture = "unknown";
#endif

std::string format_scaled(double value, const char* suffix, const char* fractional_format) {
    char buffer[32];
    if (value == std::floor(value)) std::snprintf(buffer, sizeof buffer, "%.0f%s", value, suffix);
    else std::snprintf(buffer, sizeof buffer, fractional_format, value, suffix);
    return buffer;
}

nlohmann::ordered_json value_json(const gguf::Value& value, bool verbose) {
    return std::visit(
        [verbose](const auto& v) -> nlohmann::ordered_json {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, gguf::Array>) {
                if (!verbose && v.items.size() > 5) return nlohmann::ordered_json::array();
                nlohmann::ordered_json a = nlohmann::ordered_json::array();
                for (const gguf::Value& item : v.items) a.push_back(value_json(item, verbose));
                return a;
            } else if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
                return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr);
            } else {
                return nlohmann::ordered_json(v);
            }
        },
        value.data);
}

}  // namespace

std::string human_parameter_count(uint64_t count) {
    const double n = static_cast<double>(count);
    if (n >= 1e9) return format_scaled(n / 1e9, "B", "%.1f%s");
    if (n >= 1e6) return format_scaled(n / 1e6, "M", "%.2f%s");
    if (n >= 1e3) return format_scaled(n / 1e3, "K", "%.2f%s");
    return std::to_string(count);
}

std::string file_type_name(uint32_t file_type) {
    static const char* const names[] = {
        "F32",    "F16",     "Q4_0",    "Q4_1",   nullptr,  nullptr, nullptr, "Q8_0",   "Q5_0",   "Q5_1",   "Q2_K",
        "Q3_K_S", "Q3_K_M",  "Q3_K_L",  "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K", "IQ2_XXS", "IQ2_XS", "Q2_K_S",
        "IQ3_XS", "IQ3_XXS", "IQ1_S",   "IQ4_NL", "IQ3_S",  "IQ3_M",  "IQ2_S",  "IQ2_M", "IQ4_XS", "IQ1_M",  "BF16",
    };
    if (file_type < std::size(names) && names[file_type]) return names[file_type];
    return "unknown";
}

uint64_t parameter_count(const gguf::File& file) {
    uint64_t total = 0;
    for (const gguf::TensorInfo& t : file.tensors()) total += static_cast<uint64_t>(t.element_count());
    return total;
}

nlohmann::ordered_json config_from_gguf(const gguf::File& file) {
    const std::string architecture = file.metadata().get_or<std::string>("general.architecture", "unknown");
    const uint32_t file_type = file.metadata().get_or<uint32_t>("general.file_type", 0);
    nlohmann::ordered_json config = {
        {"model_format", "gguf"},
        {"model_family", architecture},
        {"model_families", {architecture}},
        {"model_type", human_parameter_count(parameter_count(file))},
        {"file_type", file_type_name(file_type)},
        {"architecture", kGoArchitecture},
        {"os", "linux"},
    };
    return config;
}

nlohmann::ordered_json gguf_model_info(const gguf::File& file, bool verbose) {
    nlohmann::ordered_json info = nlohmann::ordered_json::object();
    for (const auto& [key, value] : file.metadata().entries()) {
        if (key == "general.name" || key == "tokenizer.chat_template") continue;
        info[key] = value_json(value, verbose);
    }
    info["general.parameter_count"] = parameter_count(file);
    return info;
}

}  // namespace rockllm
