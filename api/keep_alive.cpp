#include "api/keep_alive.h"

#include <charconv>
#include <cmath>
#include <stdexcept>
#include <string>

namespace rockllm {

namespace {

std::invalid_argument duration_error(const char* what, std::string_view text) {
    return std::invalid_argument(std::string("time: ") + what + " duration \"" + std::string(text) + "\"");
}

// Nanoseconds per unit, longest unit names first so that "ms" is not read as "m".
double unit_scale(std::string_view unit) {
    if (unit == "ns") return 1;
    if (unit == "us" || unit == "\u00b5s" || unit == "\u03bcs") return 1e3;
    if (unit == "ms") return 1e6;
    if (unit == "s") return 1e9;
    if (unit == "m") return 60e9;
    if (unit == "h") return 3600e9;
    return 0;
}

}  // namespace

std::chrono::nanoseconds parse_go_duration(std::string_view text) {
    std::string_view s = text;
    bool negative = false;
    if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
        negative = s.front() == '-';
        s.remove_prefix(1);
    }
    if (s == "0") return std::chrono::nanoseconds(0);
    if (s.empty()) throw duration_error("invalid", text);
    double total = 0;
    while (!s.empty()) {
        size_t i = 0;
        while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
        if (i == 0 || (i == 1 && s[0] == '.')) throw duration_error("invalid", text);
        double value = 0;
        const auto [end, ec] = std::from_chars(s.data(), s.data() + i, value);
        if (ec != std::errc() || end != s.data() + i) throw duration_error("invalid", text);
        s.remove_prefix(i);
        size_t u = 0;
        while (u < s.size() && !std::isdigit(static_cast<unsigned char>(s[u])) && s[u] != '.') ++u;
        if (u == 0) throw duration_error("missing unit in", text);
        const double scale = unit_scale(s.substr(0, u));
        if (scale == 0) throw std::invalid_argument("time: unknown unit \"" + std::string(s.substr(0, u)) + "\" in duration \"" + std::string(text) + "\"");
        total += value * scale;
        s.remove_prefix(u);
    }
    if (total > 9.2e18) throw duration_error("invalid", text);
    return std::chrono::nanoseconds(static_cast<int64_t>(negative ? -total : total));
}

std::optional<KeepAlive> keep_alive_from_json(const nlohmann::json& body) {
    const auto it = body.find("keep_alive");
    if (it == body.end() || it->is_null()) return std::nullopt;
    if (it->is_number()) {
        const double seconds = it->get<double>();
        if (seconds < 0) return KeepAlive{{}, true};
        if (!std::isfinite(seconds) || seconds > 9.2e9) return KeepAlive{{}, true};  // beyond any lifetime
        return KeepAlive{std::chrono::nanoseconds(static_cast<int64_t>(seconds * 1e9)), false};
    }
    if (it->is_string()) return KeepAlive::from_duration(parse_go_duration(it->get<std::string>()));
    throw std::invalid_argument("keep_alive must be a number of seconds or a duration string");
}

KeepAlive keep_alive_from_env(std::string_view text) {
    if (text.empty()) return KeepAlive{std::chrono::minutes(5), false};
    int64_t seconds = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (ec == std::errc() && end == text.data() + text.size())
        return KeepAlive::from_duration(std::chrono::seconds(seconds));
    return KeepAlive::from_duration(parse_go_duration(text));
}

}  // namespace rockllm
