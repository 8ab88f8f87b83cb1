#include "daemon/api_client.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include <httplib.h>

#include "daemon/environment.h"

namespace rockllm {

using nlohmann::json;

ApiClient::ApiClient() {
    const char* host_env = std::getenv("OLLAMA_HOST");
    const std::string value = host_env ? host_env : "";
    ListenAddress address = parse_ollama_host(value);
    if (address.host == "0.0.0.0" || address.host.empty()) address.host = "127.0.0.1";
    if (address.host == "::") address.host = "::1";
    const bool https = value.rfind("https://", 0) == 0;
    const std::string host = address.host.find(':') != std::string::npos ? "[" + address.host + "]" : address.host;
    base_url_ = std::string(https ? "https://" : "http://") + host + ":" + std::to_string(address.port);
    http_ = std::make_unique<httplib::Client>(base_url_);
    http_->set_connection_timeout(5, 0);
    // Idle time between bytes: a model load or a long prompt before the first token take minutes
    // on a board, a server that stops answering should not hold the client for a day.
    http_->set_read_timeout(kIdleSeconds, 0);
    http_->set_default_headers({{"User-Agent", "rockllm-cli"}, {"Accept", "application/json"}});
}

ApiClient::~ApiClient() = default;

void ApiClient::unreachable() const {
    throw ClientError(0, "could not connect to a running rockllm server at " + base_url_ +
                             "; start it with 'rockllm serve' (or 'sudo systemctl start rockllm'), or set OLLAMA_HOST");
}

void ApiClient::fail(int status, const std::string& body) const {
    const json error = json::parse(body, nullptr, false);
    if (error.is_object() && error.contains("error") && error["error"].is_string()) throw ClientError(status, error["error"].get<std::string>());
    throw ClientError(status, body.empty() ? "the server answered HTTP " + std::to_string(status) : body);
}

std::pair<int, std::string> ApiClient::send(const std::string& method, const std::string& path, const std::string& body) {
    std::string received;
    int status = 0;
    bool too_long = false;
    httplib::Request req;
    req.method = method;
    req.path = path;
    if (method != "GET") {
        req.body = body;
        req.set_header("Content-Type", "application/json");
    }
    req.response_handler = [&](const httplib::Response& response) {
        status = response.status;
        return true;
    };
    req.content_receiver = [&](const char* data, size_t size, uint64_t, uint64_t) {
        too_long = received.size() + size > kMaxAnswerBytes;
        if (!too_long) received.append(data, size);
        return !too_long;
    };
    auto res = http_->send(req);
    if (too_long) throw ClientError(0, "the server's answer to " + path + " is longer than 64 MiB: stopped reading it");
    if (!res) unreachable();
    if (status >= 400) fail(status, received);
    return {status, received};
}

json ApiClient::get(const std::string& path) { return json::parse(send("GET", path, "").second, nullptr, false); }

json ApiClient::post(const std::string& path, const json& body) {
    const std::string answer = send("POST", path, body.dump()).second;
    return answer.empty() ? json() : json::parse(answer, nullptr, false);
}

void ApiClient::del(const std::string& path, const json& body) { send("DELETE", path, body.dump()); }

void ApiClient::stream(const std::string& path, const json& body, const std::function<void(const json&)>& on_line, int idle_seconds) {
    http_->set_read_timeout(idle_seconds, 0);
    std::string pending, error_body;
    int status = 0;
    std::exception_ptr failure;
    httplib::Request req;
    req.method = "POST";
    req.path = path;
    req.body = body.dump();
    req.set_header("Content-Type", "application/json");
    req.response_handler = [&](const httplib::Response& response) {
        status = response.status;
        return true;
    };
    req.content_receiver = [&](const char* data, size_t size, uint64_t, uint64_t) {
        if (status >= 400) {
            if (error_body.size() < kMaxAnswerBytes) error_body.append(data, size);
            return true;
        }
        const size_t searched = pending.size();  // the bytes before these hold no newline
        pending.append(data, size);
        size_t start = 0;
        for (size_t newline; (newline = pending.find('\n', std::max(start, searched))) != std::string::npos;) {
            const std::string line = pending.substr(start, newline - start);
            start = newline + 1;
            if (line.empty()) continue;
            const json parsed = json::parse(line, nullptr, false);
            try {
                if (parsed.is_object() && parsed.contains("error")) throw ClientError(500, parsed["error"].get<std::string>());
                on_line(parsed);
            } catch (...) {
                failure = std::current_exception();
                return false;
            }
        }
        pending.erase(0, start);
        if (pending.size() > kMaxAnswerBytes) {
            failure = std::make_exception_ptr(ClientError(0, "the server sent a line longer than 64 MiB: stopped reading it"));
            return false;
        }
        return true;
    };
    auto res = http_->send(req);
    http_->set_read_timeout(kIdleSeconds, 0);
    if (failure) std::rethrow_exception(failure);
    if (!res) unreachable();
    if (status >= 400) fail(status, error_body);
}

bool ApiClient::has_blob(const std::string& digest) {
    auto res = http_->Head(("/api/blobs/" + digest).c_str());
    if (!res) unreachable();
    return res->status == 200;
}

void ApiClient::upload_blob(const std::string& digest, const std::string& path) {
    auto file = std::make_shared<std::ifstream>(path, std::ios::binary);
    if (!*file) throw ClientError(0, "cannot read '" + path + "'");
    file->seekg(0, std::ios::end);
    const size_t size = static_cast<size_t>(file->tellg());
    file->seekg(0);
    auto res = http_->Post(("/api/blobs/" + digest).c_str(), size,
                           [file](size_t offset, size_t length, httplib::DataSink& sink) {
                               std::vector<char> buffer(std::min<size_t>(length, 1 << 20));
                               file->seekg(static_cast<std::streamoff>(offset));
                               file->read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
                               sink.write(buffer.data(), static_cast<size_t>(file->gcount()));
                               return file->gcount() > 0;
                           },
                           "application/octet-stream");
    if (!res) unreachable();
    if (res->status >= 400) fail(res->status, res->body);
}

}  // namespace rockllm
