// Pieces the native and the OpenAI-compatible inference routes share.
#pragma once

#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "api/server_context.h"

namespace httplib {
class DataSink;
}

namespace rockllm {

// A slot of the model for one request; the scheduler's refusals become HttpErrors (503 when the
// queue is full, 500 when the model cannot fit into memory).
std::shared_ptr<Scheduler::Lease> acquire_model(ServerContext& context, const StoredModel& stored,
                                                std::optional<KeepAlive> keep_alive);

// What to generate: the prompt, with the model's params layer under the request's options.
GenerationRequest generation_request(const LoadedModel& model, std::string prompt, const nlohmann::json& options);

// Scales to unit L2 length (after cutting an embedding to fewer dimensions).
void normalize_vector(std::vector<float>& v);

// One NDJSON line; false when the client has gone away.
bool write_ndjson(httplib::DataSink& sink, const nlohmann::json& line);

// Ollama's 499 case: the client disconnected mid-stream and generation stopped early.
void log_client_gone(const char* route, const std::string& model, int64_t tokens_generated);

}  // namespace rockllm
