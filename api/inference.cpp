#include "api/inference.h"

#include <cmath>
#include <cstdio>

#include <httplib.h>

#include "api/http_json.h"

namespace rockllm {

std::shared_ptr<Scheduler::Lease> acquire_model(ServerContext& context, const StoredModel& stored,
                                                std::optional<KeepAlive> keep_alive) {
    try {
        return context.scheduler.acquire(stored, keep_alive);
    } catch (const ServerBusy& e) {
        throw HttpError(503, e.what());
    } catch (const InsufficientMemory& e) {
        throw HttpError(500, e.what());
    }
}

GenerationRequest generation_request(const LoadedModel& model, std::string prompt, const nlohmann::json& options) {
    GenerationRequest request;
    request.prompt = std::move(prompt);
    request.apply_options(model.params());
    request.apply_options(options);
    return request;
}

void normalize_vector(std::vector<float>& v) {
    double sum = 0;
    for (float x : v) sum += static_cast<double>(x) * x;
    const double norm = std::sqrt(sum);
    if (norm > 0)
        for (float& x : v) x = static_cast<float>(x / norm);
}

bool write_ndjson(httplib::DataSink& sink, const nlohmann::json& line) {
    const std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    return sink.write(text.data(), text.size());
}

void log_client_gone(const char* route, const std::string& model, int64_t tokens_generated) {
    std::fprintf(stderr, "rockllm: %s %s: client went away (499 request canceled); generation stopped after %lld tokens\n",
                 route, model.c_str(), static_cast<long long>(tokens_generated));
}

StoredModel ServerContext::find_model(const std::string& name_text) const {
    ModelName name;
    try {
        name = ModelName::parse(name_text);
    } catch (const InvalidModelName&) {
        throw HttpError(400, "invalid model name");
    }
    std::optional<StoredModel> stored = store.find(name);
    if (!stored) throw HttpError(404, "model '" + name_text + "' not found");
    return std::move(*stored);
}

}  // namespace rockllm
