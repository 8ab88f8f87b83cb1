// What every route handler shares: the store, the scheduler, and the lock that serialises changes
// to the store (create, copy, delete, pull writing a manifest).
#pragma once

#include <mutex>
#include <optional>
#include <string>

#include "api/route_table.h"
#include "api/scheduler.h"
#include "models/model_store.h"
#include "models/registry_pull.h"

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

// A route's handler, named, with the context it shares.
using ContextHandler = void (*)(ServerContext& context, const httplib::Request& req, httplib::Response& res);
// The handler bound to the context, its exceptions answered as Ollama's {"error": ...} bodies.
RouteTable::Handler native_route(ServerContext& context, ContextHandler handler);
using ContextReadingHandler = void (*)(ServerContext& context, const httplib::Request& req, httplib::Response& res,
                                       const httplib::ContentReader& reader);
RouteTable::ReadingHandler native_route(ServerContext& context, ContextReadingHandler handler);

void register_model_routes(RouteTable& routes, ServerContext& context);
void register_inference_routes(RouteTable& routes, ServerContext& context);
void register_openai_routes(RouteTable& routes, ServerContext& context);
void register_anthropic_routes(RouteTable& routes, ServerContext& context);
// GET /api/npu/stats (JSON) and GET /metrics (Prometheus text): the cores' and the models' counters.
void register_npu_routes(RouteTable& routes, ServerContext& context);

}  // namespace rockllm
