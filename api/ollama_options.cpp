#include "api/ollama_options.h"

#include <stdexcept>
#include <string>
#include <string_view>

namespace rockllm {

namespace {

enum class OptionType { Integer, Float, Boolean, Strings };

struct KnownOption {
    std::string_view key;
    OptionType type;
};

// api/types.go's Options and Runner, by their JSON names. Ollama takes a fractional number for an
// integer option (and truncates it), so an integer option is any number here too.
constexpr KnownOption kKnownOptions[] = {
    {"num_keep", OptionType::Integer},        {"seed", OptionType::Integer},
    {"num_predict", OptionType::Integer},     {"top_k", OptionType::Integer},
    {"top_p", OptionType::Float},             {"min_p", OptionType::Float},
    {"typical_p", OptionType::Float},         {"repeat_last_n", OptionType::Integer},
    {"temperature", OptionType::Float},       {"repeat_penalty", OptionType::Float},
    {"presence_penalty", OptionType::Float},  {"frequency_penalty", OptionType::Float},
    {"stop", OptionType::Strings},            {"num_ctx", OptionType::Integer},
    {"num_batch", OptionType::Integer},       {"num_gpu", OptionType::Integer},
    {"main_gpu", OptionType::Integer},        {"use_mmap", OptionType::Boolean},
    {"num_thread", OptionType::Integer},      {"draft_num_predict", OptionType::Integer},
};

const KnownOption* find_option(std::string_view key) {
    for (const KnownOption& o : kKnownOptions)
        if (o.key == key) return &o;
    return nullptr;
}

std::invalid_argument wrong(const std::string& key, const char* what) {
    return std::invalid_argument("option \"" + key + "\" must be of " + what);
}

}  // namespace

std::vector<std::string> check_ollama_option_types(const nlohmann::json& options) {
    std::vector<std::string> unknown;
    if (!options.is_object()) return unknown;
    for (const auto& [key, value] : options.items()) {
        const KnownOption* known = find_option(key);
        if (!known) {
            unknown.push_back(key);
            continue;
        }
        if (value.is_null()) continue;
        switch (known->type) {
            case OptionType::Integer:
                if (!value.is_number()) throw wrong(key, "type integer");
                break;
            case OptionType::Float:
                if (!value.is_number()) throw wrong(key, "type float32");
                break;
            case OptionType::Boolean:
                if (!value.is_boolean()) throw wrong(key, "type boolean");
                break;
            case OptionType::Strings:
                if (!value.is_array()) throw wrong(key, "type array");
                for (const auto& item : value)
                    if (!item.is_string()) throw wrong(key, "an array of strings");
                break;
        }
    }
    return unknown;
}

}  // namespace rockllm
