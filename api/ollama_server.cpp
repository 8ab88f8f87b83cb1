#include "api/ollama_server.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "api/http_json.h"

namespace rockllm {

namespace {

constexpr const char* kVersion = "0.33.0";  // the Ollama API version whose behaviour we follow
constexpr int kHttpThreads = 64;           // connections served at once; waiting happens in the scheduler

}  // namespace

OllamaServer::OllamaServer(ModelStore store, ServerOptions options)
    : options_(std::move(options)), context_(std::move(store), options_.scheduler), http_(std::make_unique<httplib::Server>()) {
    httplib::Server& s = *http_;
    s.new_task_queue = [] { return new httplib::ThreadPool(kHttpThreads); };
    s.Get("/", [](const httplib::Request&, httplib::Response& res) { res.set_content("Ollama is running", "text/plain; charset=utf-8"); });
    s.Get("/api/version", [](const httplib::Request&, httplib::Response& res) { send_json(res, 200, {{"version", kVersion}}); });
    register_model_routes(s, context_);
    register_inference_routes(s, context_);
    register_openai_routes(s, context_);
    // Unknown routes: gin's plain-text 404.
    s.set_error_handler([](const httplib::Request&, httplib::Response& res) {
        if (res.status == 404 && res.body.empty()) res.set_content("404 page not found", "text/plain");
    });
}

OllamaServer::~OllamaServer() { http_.reset(); }

bool OllamaServer::listen() { return http_->listen(options_.host, options_.port); }
void OllamaServer::stop() { http_->stop(); }

}  // namespace rockllm
