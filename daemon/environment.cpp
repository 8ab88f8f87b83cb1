#include "daemon/environment.h"

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

}  // namespace rockllm
