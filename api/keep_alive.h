// keep_alive: how long a model stays loaded after a request. Requests give seconds (a JSON number)
// or a Go duration string ("5m", "1h30m", "-1s"); negative means forever, zero means unload now.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

namespace rockllm {

struct KeepAlive {
    std::chrono::nanoseconds duration{0};
    bool forever = false;

    bool is_zero() const { return !forever && duration.count() == 0; }
    static KeepAlive from_duration(std::chrono::nanoseconds d) { return d.count() < 0 ? KeepAlive{{}, true} : KeepAlive{d, false}; }
};

// Go's time.ParseDuration. Throws std::invalid_argument with Go's message, e.g.
// `time: missing unit in duration "3600"`.
std::chrono::nanoseconds parse_go_duration(std::string_view text);

// The request field; nullopt when absent or null. Throws std::invalid_argument for bad values.
std::optional<KeepAlive> keep_alive_from_json(const nlohmann::json& body);

// OLLAMA_KEEP_ALIVE: a Go duration or bare seconds; empty gives Ollama's default of 5 minutes.
KeepAlive keep_alive_from_env(std::string_view text);

}  // namespace rockllm
