#include "api/route_table.h"

#include <algorithm>
#include <cstdlib>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <httplib.h>

#include "api/http_json.h"

namespace rockllm {

namespace {

// The same reader, except that once the handler's receiver refuses a chunk the rest of the body
// is still read, and dropped, up to drain_limit bytes: cpp-httplib 0.11 would otherwise parse the
// unread remainder as the connection's next requests. The handler still sees its read stop.
httplib::ContentReader draining(const httplib::ContentReader& reader, uint64_t drain_limit) {
    auto read = [&reader, drain_limit](httplib::ContentReceiver receiver) {
        bool refused = false;
        uint64_t dropped = 0;
        const bool complete = reader([&](const char* data, size_t size) {
            if (!refused && receiver(data, size)) return true;
            refused = true;
            dropped += size;
            return dropped <= drain_limit;
        });
        return complete && !refused;
    };
    return httplib::ContentReader(read, [](httplib::MultipartContentHeader, httplib::ContentReceiver) { return false; });
}

void give_memory_back() {
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

}  // namespace

void RouteTable::remember(const std::string& pattern) { patterns_.emplace_back(pattern); }

void RouteTable::get(const std::string& pattern, Handler handler) {
    remember(pattern);
    server_.Get(pattern, std::move(handler));
}

RouteTable::ReadingHandler RouteTable::reading_json_body(Handler handler) {
    return [handler = std::move(handler)](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
        std::string body;
        bool too_large = false;
        if (!req.has_header("Content-Encoding"))  // its announced length, checked against the limit before
            body.reserve(std::min<uint64_t>(kMaxJsonBody, std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10)));
        draining(reader, kMaxDrainedJson)([&](const char* data, size_t size) {
            too_large = body.size() + size > kMaxJsonBody;
            if (!too_large) body.append(data, size);
            return !too_large;
        });
        if (too_large) {
            send_error(res, 413, "request body too large (the limit is " + std::to_string(kMaxJsonBody) + " bytes, inflated)");
            return;
        }
        // The handler's request is this one with its body read (path, headers and matches are the
        // original's; the matches point into its path, which outlives the call).
        const size_t body_bytes = body.size();
        {
            httplib::Request with_body = req;
            with_body.body = std::move(body);
            handler(with_body, res);
        }
        // The copies a large body leaves (its JSON, a prompt) went to the allocator's free lists,
        // where they would stay: give the memory back to the system.
        if (body_bytes > (size_t{1} << 20)) give_memory_back();
    };
}

void RouteTable::post(const std::string& pattern, Handler handler) {
    remember(pattern);
    server_.Post(pattern, reading_json_body(std::move(handler)));
}

void RouteTable::post_reading(const std::string& pattern, ReadingHandler handler) {
    remember(pattern);
    server_.Post(pattern, [handler = std::move(handler)](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
        handler(req, res, draining(reader, UINT64_MAX));  // an upload's length was checked against the disk
    });
}

void RouteTable::del(const std::string& pattern, Handler handler) {
    remember(pattern);
    server_.Delete(pattern, reading_json_body(std::move(handler)));
}

bool RouteTable::knows(const std::string& path) const {
    return std::any_of(patterns_.begin(), patterns_.end(), [&](const std::regex& p) { return std::regex_match(path, p); });
}

}  // namespace rockllm
