#include "api/http_json.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include <httplib.h>

namespace rockllm {

using nlohmann::json;

void answer_errors(httplib::Response& res, const std::function<void()>& body) {
    try {
        body();
    } catch (const HttpError& e) {
        send_error(res, e.status, e.what());
    } catch (const std::invalid_argument& e) {
        send_error(res, 400, e.what());
    } catch (const json::exception& e) {  // a field of the wrong type
        send_error(res, 400, e.what());
    } catch (const std::exception& e) {
        send_error(res, 500, e.what());
    }
}

void answer_errors(httplib::Response& res, const std::function<void()>& body, const ErrorShape& shape) {
    answer_errors(res, body);
    if (res.status < 400) return;
    const json native = json::parse(res.body, nullptr, false);
    const bool is_native = native.is_object() && native.contains("error") && native["error"].is_string();
    send_json(res, res.status, shape(res.status, is_native ? native["error"].get<std::string>() : res.body));
}

void send_json(httplib::Response& res, int status, const json& body) {
    res.status = status;
    // Model output and GGUF strings may hold invalid UTF-8: replace it rather than fail.
    res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json; charset=utf-8");
}

void send_error(httplib::Response& res, int status, const std::string& message) {
    send_json(res, status, {{"error", message}});
}

namespace {

// Copying and printing a JSON value recurse once per level, so a body nested a hundred thousand
// levels deep would overflow a server thread's stack; no request needs more than a few dozen.
constexpr int kMaxJsonDepth = 256;

int nesting_depth(const std::string& text) {
    int depth = 0, deepest = 0;
    bool in_string = false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') ++i;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            deepest = std::max(deepest, ++depth);
        } else if (c == ']' || c == '}') {
            --depth;
        }
    }
    return deepest;
}

// Parsed with the body's checks: present, nested no deeper than the limit, a JSON object.
template <class Json>
Json parse_checked(const httplib::Request& req) {
    if (req.body.empty()) throw HttpError(400, "missing request body");
    if (nesting_depth(req.body) > kMaxJsonDepth)
        throw HttpError(400, "the request body nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    Json body;
    try {
        body = Json::parse(req.body);
    } catch (const typename Json::parse_error& e) {
        throw HttpError(400, e.what());
    }
    if (body.is_null()) body = Json::object();
    if (!body.is_object()) throw HttpError(400, "request body must be a JSON object");
    return body;
}

// The same value with its members sorted by name; strings are moved, not copied (a prompt can be
// megabytes). The depth is bounded by the body's check.
json unordered(nlohmann::ordered_json&& value) {
    switch (value.type()) {
    case json::value_t::object: {
        json out = json::object();
        for (auto& [key, member] : value.items()) out[key] = unordered(std::move(member));
        return out;
    }
    case json::value_t::array: {
        json out = json::array();
        for (auto& item : value) out.push_back(unordered(std::move(item)));
        return out;
    }
    case json::value_t::string:
        return json(std::move(value.get_ref<std::string&>()));
    default:
        return json(value);
    }
}

}  // namespace

json parse_body(const httplib::Request& req) { return parse_checked<json>(req); }

RequestBody parse_body_keeping_order_of(const httplib::Request& req, const std::string& member) {
    nlohmann::ordered_json tree = parse_checked<nlohmann::ordered_json>(req);
    RequestBody body;
    if (const auto it = tree.find(member); it != tree.end()) body.ordered = *it;
    body.fields = unordered(std::move(tree));
    return body;
}

std::string string_field(const json& body, const char* key) {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) return "";
    if (!it->is_string()) throw HttpError(400, std::string("field \"") + key + "\" must be a string");
    return it->get<std::string>();
}

std::string model_field(const json& body) {
    const std::string model = string_field(body, "model");
    return model.empty() ? string_field(body, "name") : model;
}

bool bool_field(const json& body, const char* key, bool fallback) {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) throw HttpError(400, std::string("field \"") + key + "\" must be a boolean");
    return it->get<bool>();
}

namespace {

std::string format(std::time_t seconds, long nanos, bool local) {
    std::tm tm{};
    if (local) localtime_r(&seconds, &tm);
    else gmtime_r(&seconds, &tm);
    char buffer[80];
    size_t n = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &tm);
    n += static_cast<size_t>(std::snprintf(buffer + n, sizeof buffer - n, ".%09ld", nanos));
    if (!local || tm.tm_gmtoff == 0) {
        std::snprintf(buffer + n, sizeof buffer - n, "Z");
    } else {
        const long offset = tm.tm_gmtoff;
        const long minutes = (offset < 0 ? -offset : offset) / 60;
        std::snprintf(buffer + n, sizeof buffer - n, "%c%02ld:%02ld", offset < 0 ? '-' : '+', minutes / 60, minutes % 60);
    }
    return buffer;
}

}  // namespace

std::string rfc3339(std::chrono::system_clock::time_point t, bool local) {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
    long nanos = static_cast<long>(ns % 1000000000);
    std::time_t seconds = static_cast<std::time_t>(ns / 1000000000);
    if (nanos < 0) {
        nanos += 1000000000;
        --seconds;
    }
    return format(seconds, nanos, local);
}

std::string rfc3339_now() { return rfc3339(std::chrono::system_clock::now()); }

std::string rfc3339_seconds(int64_t unix_seconds) { return format(static_cast<std::time_t>(unix_seconds), 0, false); }

}  // namespace rockllm
