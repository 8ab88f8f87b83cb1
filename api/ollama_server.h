// The Ollama REST API over cpp-httplib: the routes live in model_routes.cpp (store management),
// inference_routes.cpp (generate, chat, embed), openai_routes.cpp (/v1/*) and npu_routes.cpp
// (counters); this class owns the listener, the route table and what the routes share.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "api/access_policy.h"
#include "api/server_context.h"

namespace httplib {
class Server;
}

namespace rockllm {

struct ServerOptions {
    std::string host = "127.0.0.1";
    int port = 11434;
    std::vector<std::string> origins;  // OLLAMA_ORIGINS
    bool debug = false;                // OLLAMA_DEBUG: a log line per request
    SchedulerOptions scheduler;
    std::string cpu_reason;  // why there is no NPU (scheduler.npu null), for /api/npu/stats
};

class OllamaServer {
public:
    OllamaServer(ModelStore store, ServerOptions options);
    ~OllamaServer();

    // Binds, calls on_listening, and serves until stop(); false when the address cannot be bound.
    bool listen(const std::function<void()>& on_listening = {});
    void stop();

    // Whether the scheduler answers within the time (for the service watchdog).
    bool responsive(std::chrono::milliseconds within);
    // One line for systemd's STATUS=: the address and the loaded models.
    std::string status_line() const;

private:
    ServerOptions options_;
    AccessPolicy access_;
    ServerContext context_;  // outlives http_: handlers still running refer to it
    std::unique_ptr<httplib::Server> http_;
    RouteTable routes_{*http_};
    int listening_socket_ = -1;  // cpp-httplib's, seen as it is made
    int bound_port_ = 0;
};

}  // namespace rockllm
