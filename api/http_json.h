// JSON over cpp-httplib as Ollama answers it: bodies, error objects, request fields, timestamps.
#pragma once

#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace rockllm {

// A request the server refuses: HTTP status and the message of the {"error": ...} body.
class HttpError : public std::runtime_error {
public:
    HttpError(int status, const std::string& message) : std::runtime_error(message), status(status) {}
    int status;
};

// Runs a handler body, turning exceptions into Ollama's error bodies: HttpError with its status,
// bad arguments and JSON type errors 400, anything else 500.
void answer_errors(httplib::Response& res, const std::function<void()>& body);
// For the routes of another API (OpenAI's, Anthropic's): the same, with the error body built in
// that API's shape from the status and message.
using ErrorShape = std::function<nlohmann::json(int status, const std::string& message)>;
void answer_errors(httplib::Response& res, const std::function<void()>& body, const ErrorShape& shape);

void send_json(httplib::Response& res, int status, const nlohmann::json& body);
void send_error(httplib::Response& res, int status, const std::string& message);

// The request body as a JSON object; throws HttpError 400 ("missing request body", the parser's
// message for malformed JSON, or a non-object body).
nlohmann::json parse_body(const httplib::Request& req);
// The body, parsed once, with one member also kept in its written order (a JSON schema's
// properties are generated in the order they are listed).
struct RequestBody {
    nlohmann::json fields;
    nlohmann::ordered_json ordered;  // the member's value; null when absent
};
RequestBody parse_body_keeping_order_of(const httplib::Request& req, const std::string& member);

// A string field ("" when absent or null); throws HttpError 400 when it has another type.
std::string string_field(const nlohmann::json& body, const char* key);
// "model", or the legacy "name" that older clients send instead.
std::string model_field(const nlohmann::json& body);
// A boolean field with its default; throws HttpError 400 for other types.
bool bool_field(const nlohmann::json& body, const char* key, bool fallback);

// RFC 3339 with nanoseconds as Go prints time.Time: UTC ("...Z") or local time with its offset.
std::string rfc3339(std::chrono::system_clock::time_point t, bool local = false);
std::string rfc3339_now();
// For times too far ahead for system_clock (keep_alive forever): seconds since the epoch.
std::string rfc3339_seconds(int64_t unix_seconds);

}  // namespace rockllm
