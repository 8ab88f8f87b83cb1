// The client side of the Ollama API, for the rockllm client commands (run, pull, list, ...): it
// talks to the server named by OLLAMA_HOST exactly as the ollama CLI does.
#pragma once

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

namespace httplib {
class Client;
}

namespace rockllm {

// The server answered with an error ({"error": ...}) or could not be reached.
class ClientError : public std::runtime_error {
public:
    ClientError(int status, const std::string& message) : std::runtime_error(message), status(status) {}
    int status;  // 0 when the server could not be reached
};

class ApiClient {
public:
    // From OLLAMA_HOST ("127.0.0.1:11434" when unset; 0.0.0.0 is reached through 127.0.0.1).
    ApiClient();
    ~ApiClient();


    nlohmann::json get(const std::string& path);
    nlohmann::json post(const std::string& path, const nlohmann::json& body);
    void del(const std::string& path, const nlohmann::json& body);
    // POSTs and hands each NDJSON line to on_line; an {"error": ...} line throws ClientError.
    // idle_seconds: how long the server may send nothing (a create that quantizes says nothing
    // until it is done).
    void stream(const std::string& path, const nlohmann::json& body, const std::function<void(const nlohmann::json&)>& on_line,
                int idle_seconds = kIdleSeconds);
    bool has_blob(const std::string& digest);
    // Uploads a file as a blob, streaming it from disk.
    void upload_blob(const std::string& digest, const std::string& path);

private:
    // A client keeps bounded memory whatever the server sends: an answer, or one NDJSON line,
    // longer than this is an error.
    static constexpr size_t kMaxAnswerBytes = 64 << 20;
    static constexpr int kIdleSeconds = 600;

    // The status and body of a request; throws ClientError for an error status.
    std::pair<int, std::string> send(const std::string& method, const std::string& path, const std::string& body);
    [[noreturn]] void fail(int status, const std::string& body) const;
    [[noreturn]] void unreachable() const;

    std::string base_url_;
    std::unique_ptr<httplib::Client> http_;
};

}  // namespace rockllm
