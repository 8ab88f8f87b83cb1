#include "daemon/command_line.h"

#include <charconv>
#include <cmath>

namespace rockllm {

CommandLine::CommandLine(const std::vector<std::string>& args, const std::set<std::string>& known,
                         const std::set<std::string>& switches) {
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (!arg.starts_with("--")) {
            positional_.push_back(arg);
            continue;
        }
        std::string name = arg.substr(2), value;
        if (switches.count(name)) {
            values_[name].push_back("true");
            continue;
        }
        if (const size_t eq = name.find('='); eq != std::string::npos) {
            value = name.substr(eq + 1);
            name.resize(eq);
        } else {
            if (i + 1 >= args.size()) throw UsageError("flag --" + name + " needs a value");
            value = args[++i];
        }
        if (!known.count(name)) throw UsageError("unknown flag --" + name);
        values_[name].push_back(value);
    }
}

std::optional<std::string> CommandLine::get(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end()) return std::nullopt;
    return it->second.back();
}

std::vector<std::string> CommandLine::get_all(const std::string& name) const {
    auto it = values_.find(name);
    return it == values_.end() ? std::vector<std::string>{} : it->second;
}

std::string CommandLine::require(const std::string& name) const {
    auto value = get(name);
    if (!value) throw UsageError("flag --" + name + " is required");
    return *value;
}

int64_t CommandLine::get_int(const std::string& name, int64_t fallback) const {
    auto value = get(name);
    if (!value) return fallback;
    int64_t out = 0;
    const auto [end, error] = std::from_chars(value->data(), value->data() + value->size(), out);
    if (error != std::errc() || end != value->data() + value->size())
        throw UsageError("flag --" + name + " needs an integer, not '" + *value + "'");
    return out;
}

double CommandLine::get_double(const std::string& name, double fallback) const {
    auto value = get(name);
    if (!value) return fallback;
    size_t used = 0;
    double out = 0;
    try {
        out = std::stod(*value, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used == 0 || used != value->size() || !std::isfinite(out))
        throw UsageError("flag --" + name + " needs a number, not '" + *value + "'");
    return out;
}

}  // namespace rockllm
