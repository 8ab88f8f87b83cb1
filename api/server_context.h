// What every route handler shares: the store, the scheduler, and the lock that serialises changes
// to the store (create, copy, delete, pull writing a manifest).
#pragma once

#include <mutex>
#include <optional>
#include <string>

#include "api/scheduler.h"
#include "models/model_store.h"
#include "models/registry_pull.h"

namespace httplib {
class Server;
}

namespace rockllm {

struct ServerContext {
    ServerContext(ModelStore s, SchedulerOptions options) : store(std::move(s)), scheduler(store, std::move(options)) {}

    ModelStore store;
    Scheduler scheduler;
    std::mutex store_mutex;
    DownloadLocks downloads;
    // Why the engine runs on the CPU when it does ("" with the NPU, or when the CPU was asked for).
    std::string cpu_reason;

    // The stored model a request names. Throws HttpError: 400 for an invalid name, 404 with
    // Ollama's "model 'X' not found" when there is none.
    StoredModel find_model(const std::string& name_text) const;
};

void register_model_routes(httplib::Server& server, ServerContext& context);
void register_inference_routes(httplib::Server& server, ServerContext& context);
void register_openai_routes(httplib::Server& server, ServerContext& context);
// GET /api/npu/stats (JSON) and GET /metrics (Prometheus text): the cores' and the models' counters.
void register_npu_routes(httplib::Server& server, ServerContext& context);

}  // namespace rockllm
