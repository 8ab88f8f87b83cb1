// Who may talk to the server, as Ollama decides it:
//   - DNS-rebinding guard: when listening on loopback, the Host header must name this machine
//     (localhost, a loopback, private, unspecified or local-interface address, the hostname, or a
//     .localhost/.local/.internal name); otherwise 403.
//   - CORS: browser origins are allowed when they are local (http(s)://localhost, 127.0.0.1,
//     0.0.0.0 on any port), app-like (app://, file://, tauri://, vscode-webview://, vscode-file://),
//     browser extensions, or listed in OLLAMA_ORIGINS (comma separated, * wildcards); others get 403.
#pragma once

#include <string>
#include <vector>

namespace rockllm {

class AccessPolicy {
public:
    AccessPolicy(const std::string& listen_host, std::vector<std::string> extra_origins);

    bool host_allowed(const std::string& host_header) const;
    bool origin_allowed(const std::string& origin) const;
    // "*" in OLLAMA_ORIGINS: every origin, answered with Access-Control-Allow-Origin: *.
    bool any_origin() const { return any_origin_; }

private:
    bool loopback_listener_;
    bool any_origin_ = false;
    std::vector<std::string> origins_;  // patterns with * wildcards
};

// Allowed request headers of the CORS preflight answer.
constexpr const char* kCorsAllowedHeaders =
    "Authorization, Content-Type, User-Agent, Accept, X-Requested-With, OpenAI-Beta, x-stainless-arch, "
    "x-stainless-async, x-stainless-custom-poll-interval, x-stainless-helper-method, x-stainless-lang, "
    "x-stainless-os, x-stainless-package-version, x-stainless-poll-helper, x-stainless-retry-count, "
    "x-stainless-runtime, x-stainless-runtime-version, x-stainless-timeout";

// Shell-style matching where * stands for any run of characters.
bool wildcard_match(const std::string& pattern, const std::string& text);

}  // namespace rockllm
