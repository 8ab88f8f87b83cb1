// The Ollama REST API over cpp-httplib. This first slice serves liveness, version, the model list,
// and /api/generate (raw prompts, load/unload, NDJSON streaming); the rest of the API follows.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "api/loaded_model.h"
#include "models/model_store.h"

namespace httplib {
class Server;
}

namespace rockllm {

struct ServerOptions {
    std::string host = "127.0.0.1";
    int port = 11434;
    int64_t num_ctx = 4096;  // OLLAMA_CONTEXT_LENGTH
};

class OllamaServer {
public:
    OllamaServer(ModelStore store, ServerOptions options);
    ~OllamaServer();

    // Binds and serves until stop(); false when the address cannot be bound.
    bool listen();
    void stop();

private:
    void register_routes();
    // The loaded model for a stored one, loading it (and unloading another) when needed.
    std::shared_ptr<LoadedModel> acquire(const StoredModel& stored);
    void unload(const ModelName& name);

    ModelStore store_;
    ServerOptions options_;
    std::unique_ptr<httplib::Server> http_;
    std::mutex models_mutex_;
    std::shared_ptr<LoadedModel> loaded_;
};

// RFC 3339 with fractional seconds in UTC, as Go formats time.Time.
std::string rfc3339_now();

}  // namespace rockllm
