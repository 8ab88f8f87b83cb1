#include "api/ollama_server.h"

#include <chrono>
#include <ctime>

#include <httplib.h>
#include <nlohmann/json.hpp>

namespace rockllm {

using nlohmann::json;

namespace {

constexpr const char* kVersion = "0.33.0";  // the Ollama API version whose behaviour we follow

void send_json(httplib::Response& res, int status, const json& body) {
    res.status = status;
    res.set_content(body.dump() , "application/json; charset=utf-8");
}

void send_error(httplib::Response& res, int status, const std::string& message) {
    send_json(res, status, {{"error", message}});
}

// The request body as a JSON object, or an error already sent.
bool parse_body(const httplib::Request& req, httplib::Response& res, json& body) {
    if (req.body.empty()) {
        send_error(res, 400, "missing request body");
        return false;
    }
    body = json::parse(req.body, nullptr, false);
    if (body.is_discarded()) {
        send_error(res, 400, "invalid JSON in request body");
        return false;
    }
    if (body.is_null()) body = json::object();
    if (!body.is_object()) {
        send_error(res, 400, "request body must be a JSON object");
        return false;
    }
    return true;
}

std::string string_field(const json& body, const char* key) {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) return "";
    if (!it->is_string()) throw std::invalid_argument(std::string("field \"") + key + "\" must be a string");
    return it->get<std::string>();
}

// keep_alive of 0 (number or duration string) means "unload now".
bool keep_alive_is_zero(const json& body) {
    auto it = body.find("keep_alive");
    if (it == body.end()) return false;
    if (it->is_number()) return it->get<double>() == 0;
    if (it->is_string()) {
        const std::string s = it->get<std::string>();
        return s == "0" || s == "0s" || s == "0m" || s == "0h";
    }
    return false;
}

}  // namespace

std::string rfc3339_now() {
    const auto now = std::chrono::system_clock::now();
    const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
    const auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count() % 1000000000;
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char buffer[64];
    const size_t n = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &utc);
    std::snprintf(buffer + n, sizeof buffer - n, ".%09lldZ", static_cast<long long>(nanos));
    return buffer;
}

OllamaServer::OllamaServer(ModelStore store, ServerOptions options)
    : store_(std::move(store)), options_(std::move(options)), http_(std::make_unique<httplib::Server>()) {
    register_routes();
}

OllamaServer::~OllamaServer() = default;

bool OllamaServer::listen() { return http_->listen(options_.host, options_.port); }
void OllamaServer::stop() { http_->stop(); }

std::shared_ptr<LoadedModel> OllamaServer::acquire(const StoredModel& stored) {
    std::lock_guard lock(models_mutex_);
    if (loaded_ && loaded_->stored().name.same_as(stored.name) && loaded_->stored().manifest.digest == stored.manifest.digest)
        return loaded_;
    loaded_.reset();  // one model at a time for now; the scheduler will keep several
    loaded_ = LoadedModel::load(store_, stored, options_.num_ctx);
    return loaded_;
}

void OllamaServer::unload(const ModelName& name) {
    std::lock_guard lock(models_mutex_);
    if (loaded_ && loaded_->stored().name.same_as(name)) loaded_.reset();
}

void OllamaServer::register_routes() {
    httplib::Server& s = *http_;
    s.Get("/", [](const httplib::Request&, httplib::Response& res) { res.set_content("Ollama is running", "text/plain; charset=utf-8"); });
    s.Get("/api/version", [](const httplib::Request&, httplib::Response& res) { send_json(res, 200, {{"version", kVersion}}); });

    s.Get("/api/tags", [this](const httplib::Request&, httplib::Response& res) {
        json models = json::array();
        for (const StoredModel& m : store_.list()) {
            json details = {{"format", "gguf"}};
            models.push_back({{"name", m.name.display()},
                              {"model", m.name.display()},
                              {"digest", m.manifest.digest.substr(7)},
                              {"size", m.manifest.total_size()},
                              {"details", details}});
        }
        send_json(res, 200, {{"models", models}});
    });

    s.Post("/api/generate", [this](const httplib::Request& req, httplib::Response& res) {
        json body;
        if (!parse_body(req, res, body)) return;
        try {
            std::string model_text = string_field(body, "model");
            if (model_text.empty()) model_text = string_field(body, "name");  // legacy field
            std::optional<ModelName> name;
            try {
                name = ModelName::parse(model_text);
            } catch (const InvalidModelName&) {
                send_error(res, model_text.empty() ? 404 : 400,
                           model_text.empty() ? "model '' not found" : "invalid model name");
                return;
            }
            const std::optional<StoredModel> stored = store_.find(*name);
            if (!stored) {
                send_error(res, 404, "model '" + model_text + "' not found");
                return;
            }
            const std::string prompt = string_field(body, "prompt");
            const bool raw = body.value("raw", false);
            const bool stream = body.contains("stream") && body["stream"].is_boolean() ? body["stream"].get<bool>() : true;
            if (raw && (body.contains("template") || body.contains("system") || body.contains("context"))) {
                send_error(res, 400, "raw mode does not support template, system, or context");
                return;
            }
            const std::string model_display = stored->name.display();
            if (prompt.empty()) {
                const bool unloading = keep_alive_is_zero(body);
                if (unloading) unload(stored->name);
                else acquire(*stored);
                send_json(res, 200, {{"model", model_display}, {"created_at", rfc3339_now()}, {"response", ""},
                                     {"done", true}, {"done_reason", unloading ? "unload" : "load"}});
                return;
            }
            auto model = acquire(*stored);
            if (!raw && model->has_template()) {
                send_error(res, 501, "prompt templates are not implemented yet; send \"raw\": true");
                return;
            }
            GenerationRequest request;
            request.prompt = prompt;
            request.apply_options(model->params());
            request.apply_options(body.value("options", json::object()));

            const auto start = std::chrono::steady_clock::now();
            auto final_chunk = [model_display, model, start](const GenerationStats& stats, const std::string& response) {
                const auto total = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
                return json{{"model", model_display},
                            {"created_at", rfc3339_now()},
                            {"response", response},
                            {"done", true},
                            {"done_reason", stats.done_reason},
                            {"total_duration", total},
                            {"load_duration", model->load_duration_ns()},
                            {"prompt_eval_count", stats.prompt_eval_count},
                            {"prompt_eval_duration", stats.prompt_eval_duration_ns},
                            {"eval_count", stats.eval_count},
                            {"eval_duration", stats.eval_duration_ns}};
            };
            if (!stream) {
                std::lock_guard lock(model->mutex());
                std::string text;
                const GenerationStats stats = model->generate(request, [&](const std::string& piece) {
                    text += piece;
                    return true;
                });
                send_json(res, 200, final_chunk(stats, text));
                return;
            }
            res.set_chunked_content_provider(
                "application/x-ndjson", [model, request, model_display, final_chunk](size_t, httplib::DataSink& sink) {
                    std::lock_guard lock(model->mutex());
                    auto write_line = [&sink](const json& j) {
                        const std::string line = j.dump() + "\n";
                        return sink.write(line.data(), line.size());
                    };
                    try {
                        const GenerationStats stats = model->generate(request, [&](const std::string& piece) {
                            return write_line({{"model", model_display}, {"created_at", rfc3339_now()},
                                               {"response", piece}, {"done", false}});
                        });
                        write_line(final_chunk(stats, ""));
                    } catch (const std::exception& e) {
                        write_line({{"error", e.what()}});  // the status is already 200: error as a line
                    }
                    sink.done();
                    return true;
                });
        } catch (const std::invalid_argument& e) {
            send_error(res, 400, e.what());
        } catch (const json::exception& e) {  // a field of the wrong type
            send_error(res, 400, e.what());
        } catch (const std::exception& e) {
            send_error(res, 500, e.what());
        }
    });

    // Unknown routes: gin's plain-text 404.
    s.set_error_handler([](const httplib::Request&, httplib::Response& res) {
        if (res.status == 404 && res.body.empty()) res.set_content("404 page not found", "text/plain");
    });
}

}  // namespace rockllm
