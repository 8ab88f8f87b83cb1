#include "api/access_policy.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <unistd.h>

#include "base/ascii.h"

namespace rockllm {

namespace {

// An address of one of this machine's interfaces.
bool is_local_interface(const std::string& address) {
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) return false;
    bool found = false;
    char text[INET6_ADDRSTRLEN];
    for (ifaddrs* i = list; i && !found; i = i->ifa_next) {
        if (!i->ifa_addr) continue;
        const void* raw = i->ifa_addr->sa_family == AF_INET ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr)
                          : i->ifa_addr->sa_family == AF_INET6 ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr)
                                                               : nullptr;
        if (raw && inet_ntop(i->ifa_addr->sa_family, raw, text, sizeof text) && address == text) found = true;
    }
    freeifaddrs(list);
    return found;
}

// Loopback, private, unspecified or local-interface; false when not an IP address at all.
bool is_local_address(const std::string& host) {
    in_addr v4{};
    if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
        const uint32_t a = ntohl(v4.s_addr);
        return (a >> 24) == 127 || (a >> 24) == 10 || (a >> 20) == (172u << 4 | 1) || (a >> 16) == (192u << 8 | 168) || a == 0 ||
               is_local_interface(host);
    }
    in6_addr v6{};
    if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
        static const in6_addr loopback = IN6ADDR_LOOPBACK_INIT, any = IN6ADDR_ANY_INIT;
        return std::memcmp(&v6, &loopback, sizeof v6) == 0 || std::memcmp(&v6, &any, sizeof v6) == 0 ||
               (v6.s6_addr[0] & 0xfe) == 0xfc || is_local_interface(host);
    }
    return false;
}

bool is_loopback(const std::string& host) {
    in_addr v4{};
    if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
    return host == "::1" || host == "localhost";
}

}  // namespace

bool wildcard_match(const std::string& pattern, const std::string& text) {
    size_t p = 0, t = 0, star = std::string::npos, resume = 0;
    while (t < text.size()) {
        if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            resume = t;
        } else if (p < pattern.size() && pattern[p] == text[t]) {
            ++p;
            ++t;
        } else if (star != std::string::npos) {
            p = star + 1;
            t = ++resume;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
}

AccessPolicy::AccessPolicy(const std::string& listen_host, std::vector<std::string> extra_origins)
    : loopback_listener_(is_loopback(listen_host)) {
    for (std::string& o : extra_origins) {
        if (o == "*") any_origin_ = true;
        origins_.push_back(ascii_lower(o));
    }
    for (const char* host : {"localhost", "127.0.0.1", "0.0.0.0"})
        for (const char* scheme : {"http://", "https://"}) {
            origins_.push_back(std::string(scheme) + host);
            origins_.push_back(std::string(scheme) + host + ":*");
        }
    for (const char* app : {"app://*", "file://*", "tauri://*", "vscode-webview://*", "vscode-file://*"}) origins_.push_back(app);
    // Browser extensions, as gin-contrib/cors's AllowBrowserExtensions.
    for (const char* extension : {"chrome-extension://*", "moz-extension://*", "safari-extension://*", "safari-web-extension://*", "ms-browser-extension://*"})
        origins_.push_back(extension);
}

bool AccessPolicy::host_allowed(const std::string& header) const {
    if (!loopback_listener_) return true;
    std::string host = ascii_lower(header);
    if (!host.empty() && host.front() == '[') {  // [v6]:port
        const size_t close = host.find(']');
        host = close == std::string::npos ? host : host.substr(1, close - 1);
    } else if (std::count(host.begin(), host.end(), ':') == 1) {
        host = host.substr(0, host.find(':'));
    }
    if (host.empty() || host == "localhost" || is_local_address(host)) return true;
    char name[256] = {};
    if (gethostname(name, sizeof name - 1) == 0 && host == ascii_lower(name)) return true;
    return host.ends_with(".localhost") || host.ends_with(".local") || host.ends_with(".internal");
}

bool AccessPolicy::origin_allowed(const std::string& origin) const {
    if (any_origin_) return true;
    const std::string o = ascii_lower(origin);
    return std::any_of(origins_.begin(), origins_.end(), [&](const std::string& pattern) { return wildcard_match(pattern, o); });
}

}  // namespace rockllm
