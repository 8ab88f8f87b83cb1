#include "daemon/environment.h"

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

namespace rockllm {

namespace {

int parse_port(const std::string& text, const std::string& whole) {
    if (text.empty() || text.size() > 5 || text.find_first_not_of("0123456789") != std::string::npos)
        throw std::invalid_argument("OLLAMA_HOST '" + whole + "' has an invalid port");
    const int port = std::stoi(text);
    if (port < 1 || port > 65535) throw std::invalid_argument("OLLAMA_HOST '" + whole + "' has an invalid port");
    return port;
}

}  // namespace

ListenAddress parse_ollama_host(const std::string& value) {
    ListenAddress a;
    std::string rest = value;
    if (rest.empty()) return a;
    int scheme_port = 11434;
    if (rest.rfind("http://", 0) == 0) {
        rest = rest.substr(7);
        scheme_port = 80;
    } else if (rest.rfind("https://", 0) == 0) {
        rest = rest.substr(8);
        scheme_port = 443;
    }
    if (const size_t slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
    a.port = scheme_port;
    if (!rest.empty() && rest.front() == '[') {  // [v6] or [v6]:port
        const size_t close = rest.find(']');
        if (close == std::string::npos) throw std::invalid_argument("OLLAMA_HOST '" + value + "' has an unclosed '['");
        a.host = rest.substr(1, close - 1);
        if (close + 1 < rest.size()) {
            if (rest[close + 1] != ':') throw std::invalid_argument("OLLAMA_HOST '" + value + "' is malformed");
            a.port = parse_port(rest.substr(close + 2), value);
        }
        return a;
    }
    const size_t colon = rest.rfind(':');
    if (colon != std::string::npos && rest.find(':') == colon) {
        a.host = rest.substr(0, colon);
        a.port = parse_port(rest.substr(colon + 1), value);
    } else {
        a.host = rest;  // a bare host, or a bare IPv6 address
    }
    if (a.host.empty()) a.host = "0.0.0.0";  // ":port" listens on every interface
    return a;
}

std::string models_directory() {
    if (const char* dir = std::getenv("OLLAMA_MODELS"); dir && *dir) return dir;
    const char* home = std::getenv("HOME");
    return std::string(home && *home ? home : ".") + "/.ollama/models";
}

int64_t default_context_length() {
    if (const char* v = std::getenv("OLLAMA_CONTEXT_LENGTH"); v && *v) {
        try {
            const long long n = std::stoll(v);
            if (n > 0) return n;
        } catch (const std::exception&) {
        }
        throw std::invalid_argument(std::string("OLLAMA_CONTEXT_LENGTH '") + v + "' is not a positive number");
    }
    return 4096;
}

namespace {

// Ollama trims spaces and surrounding quotes from its variables.
std::string variable(const char* name) {
    const char* raw = std::getenv(name);
    std::string v = raw ? raw : "";
    while (!v.empty() && (v.front() == ' ' || v.front() == '"' || v.front() == '\'')) v.erase(v.begin());
    while (!v.empty() && (v.back() == ' ' || v.back() == '"' || v.back() == '\'')) v.pop_back();
    return v;
}

int non_negative(const char* name, int fallback) {
    const std::string v = variable(name);
    if (v.empty()) return fallback;
    try {
        size_t used = 0;
        const long n = std::stol(v, &used);
        if (used == v.size() && n >= 0 && n <= 1000000) return static_cast<int>(n);
    } catch (const std::exception&) {
    }
    throw std::invalid_argument(std::string(name) + " '" + v + "' is not a non-negative number");
}

int64_t byte_size(const char* name) {
    const std::string v = variable(name);
    if (v.empty()) return INT64_MAX;
    size_t used = 0;
    double n = 0;
    try {
        n = std::stod(v, &used);
    } catch (const std::exception&) {
        throw std::invalid_argument(std::string(name) + " '" + v + "' is not a size such as 6G or 512M");
    }
    const std::string unit = v.substr(used);
    const double scale = unit.empty() ? 1 : unit == "K" || unit == "KiB" ? 1024.0 : unit == "M" || unit == "MiB" ? 1048576.0
                       : unit == "G" || unit == "GiB" ? 1073741824.0 : 0;
    if (scale == 0 || n <= 0) throw std::invalid_argument(std::string(name) + " '" + v + "' is not a size such as 6G or 512M");
    return static_cast<int64_t>(n * scale);
}

}  // namespace

bool debug_enabled() {
    const std::string v = variable("OLLAMA_DEBUG");
    return !v.empty() && v != "0" && v != "false" && v != "FALSE";
}

bool prune_enabled() {
    // Ollama's Bool: set to anything but a false spelling means true.
    const std::string v = variable("OLLAMA_NOPRUNE");
    return v.empty() || v == "0" || v == "f" || v == "F" || v == "false" || v == "FALSE" || v == "False";
}

std::vector<std::string> extra_origins() {
    std::vector<std::string> out;
    const std::string v = variable("OLLAMA_ORIGINS");
    size_t start = 0;
    while (start <= v.size()) {
        const size_t comma = std::min(v.find(',', start), v.size());
        std::string origin = v.substr(start, comma - start);
        while (!origin.empty() && origin.front() == ' ') origin.erase(origin.begin());
        while (!origin.empty() && origin.back() == ' ') origin.pop_back();
        if (!origin.empty()) out.push_back(origin);
        start = comma + 1;
    }
    return out;
}

SchedulerOptions scheduler_options() {
    SchedulerOptions o;
    o.num_ctx = default_context_length();
    o.num_parallel = std::max(1, non_negative("OLLAMA_NUM_PARALLEL", 1));
    const int max_loaded = non_negative("OLLAMA_MAX_LOADED_MODELS", 0);
    o.max_loaded_models = max_loaded > 0 ? max_loaded : 3;  // 0: Ollama's default for CPU-only machines
    o.max_queue = non_negative("OLLAMA_MAX_QUEUE", 512);
    o.default_keep_alive = keep_alive_from_env(variable("OLLAMA_KEEP_ALIVE"));
    o.max_memory = byte_size("ROCKLLM_MAX_MEMORY");
    return o;
}

}  // namespace rockllm
