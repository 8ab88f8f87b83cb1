// A model from the store, loaded for generation: weights, tokenizer, KV cache, and the defaults of its
// params layer. One request generates at a time (callers hold mutex()).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "llm/generation.h"
#include "llm/model.h"
#include "llm/sampler.h"
#include "llm/transformer.h"
#include "models/model_store.h"
#include "tokenizer/tokenizer.h"

namespace rockllm {

// Generation options in Ollama's JSON form ("options" of a request, or a model's params layer).
struct GenerationRequest {
    std::string prompt;
    SamplerOptions sampling;
    bool seed_given = false;
    int64_t num_predict = -1;
    std::vector<std::string> stop;

    // Applies the known keys of an options object over the current values; unknown keys are
    // ignored, wrong types throw std::invalid_argument naming the option.
    void apply_options(const nlohmann::json& options);
};

struct GenerationStats {
    std::string done_reason;  // "stop" or "length"
    int64_t prompt_eval_count = 0, eval_count = 0;
    int64_t prompt_eval_duration_ns = 0, eval_duration_ns = 0;
};

class LoadedModel {
public:
    static std::unique_ptr<LoadedModel> load(const ModelStore& store, const StoredModel& stored, int64_t num_ctx);

    const StoredModel& stored() const { return stored_; }
    int64_t num_ctx() const { return transformer_->n_ctx(); }
    int64_t load_duration_ns() const { return load_duration_ns_; }
    const nlohmann::json& params() const { return params_; }  // the params layer, {} when none
    bool has_template() const { return has_template_; }
    std::mutex& mutex() { return mutex_; }

    // Runs the prompt as given (no template) and streams text; on_text returning false cancels.
    GenerationStats generate(const GenerationRequest& request, const std::function<bool(const std::string&)>& on_text);

private:
    LoadedModel() = default;

    StoredModel stored_;
    std::shared_ptr<const gguf::File> file_;
    std::unique_ptr<Model> model_;
    std::unique_ptr<Tokenizer> tokenizer_;
    std::unique_ptr<Transformer> transformer_;
    nlohmann::json params_ = nlohmann::json::object();
    bool has_template_ = false;
    int64_t load_duration_ns_ = 0;
    std::mutex mutex_;
};

}  // namespace rockllm
