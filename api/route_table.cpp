#include "api/route_table.h"

#include <algorithm>

#include <httplib.h>

namespace rockllm {

void RouteTable::remember(const std::string& pattern) { patterns_.emplace_back(pattern); }

void RouteTable::get(const std::string& pattern, Handler handler) {
    remember(pattern);
    server_.Get(pattern, std::move(handler));
}

void RouteTable::post(const std::string& pattern, Handler handler) {
    remember(pattern);
    server_.Post(pattern, std::move(handler));
}

void RouteTable::post_reading(const std::string& pattern, ReadingHandler handler) {
    remember(pattern);
    server_.Post(pattern, std::move(handler));
}

void RouteTable::del(const std::string& pattern, Handler handler) {
    remember(pattern);
    server_.Delete(pattern, std::move(handler));
}

bool RouteTable::knows(const std::string& path) const {
    return std::any_of(patterns_.begin(), patterns_.end(), [&](const std::regex& p) { return std::regex_match(path, p); });
}

}  // namespace rockllm
