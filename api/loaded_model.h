// A model from the store, loaded for generation: weights (mapped once), tokenizer, the defaults of its
// params layer, one engine, and num_parallel slots, each a sequence with its own KV cache, so that
// that many requests run at once (OLLAMA_NUM_PARALLEL). The scheduler hands each request a slot it
// alone uses; the requests' forward passes are batched together (llm/sequence_batcher.h).
// An embedding model of the BERT family loads an encoder instead (llm/bert_encoder.h): it only
// embeds, one text at a time, and its slots are only places in the scheduler's queue.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "llm/bert_encoder.h"
#include "llm/generation.h"
#include "llm/logprobs.h"
#include "grammar/token_constraint.h"
#include "llm/model.h"
#include "llm/sampler.h"
#include "llm/sequence_batcher.h"
#include "chat/chat_prompt.h"
#include "llm/transformer.h"
#include "models/model_store.h"
#include "npu/backend/npu_model.h"
#include "tokenizer/tokenizer.h"

namespace rockllm {

// What a request runs: its prompt's tokens and Ollama's options ("options" of a request, or a
// model's params layer, in their JSON form).
struct InferenceRequest {
    std::vector<int32_t> prompt;  // as LoadedModel::tokenize gives them
    SamplerOptions sampling;
    bool seed_given = false;
    int64_t num_predict = -1;
    int64_t num_keep = 4;  // prompt positions a context shift keeps; -1: the whole prompt (Ollama's)
    std::vector<std::string> stop;
    std::shared_ptr<const Grammar> format;  // structured outputs: the answer follows this grammar
    bool logprobs = false;  // the log probability of each generated token,
    int top_logprobs = 0;   // and of this many likeliest tokens at each position

    // Applies the known keys of an options object over the current values; unknown keys are
    // ignored, wrong types throw std::invalid_argument naming the option.
    void apply_ollama_options(const nlohmann::json& options);
};

struct GenerationStats {
    std::string done_reason;  // "stop" or "length"
    int64_t prompt_eval_count = 0, eval_count = 0;
    int64_t prompt_eval_duration_ns = 0, eval_duration_ns = 0;
    std::vector<int32_t> context;  // prompt and generated tokens, for the "context" field
    nlohmann::json logprobs = nlohmann::json::array();  // Ollama's entries, when asked, not yet answered
};

struct Embedding {
    std::vector<float> vector;
    int64_t token_count = 0;
};

// Thrown when a model cannot fit into memory; Ollama answers this with a 500.
class InsufficientMemory : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct LoadOptions {
    int64_t num_ctx = 4096;
    int num_parallel = 1;
    int64_t available_bytes = INT64_MAX;  // memory the model may take, KV caches included
    // The NPU's cores when the engine uses them (null: the CPU), and the type weights take there.
    npu::NpuCores* npu = nullptr;
    npu::MatmulType npu_type = npu::MatmulType::Int8;
    std::shared_ptr<ThreadPool> pool;  // the process's; null: one of the model's own
    std::function<void(const std::string&)> log = [](const std::string&) {};
};

class LoadedModel {
public:
    // The memory a model takes is its weights' file, their NPU copy, and the KV caches of its
    // slots; load throws InsufficientMemory before allocating them when that exceeds available_bytes.
    static std::unique_ptr<LoadedModel> load(const ModelStore& store, const StoredModel& stored, const LoadOptions& options);

    const StoredModel& stored() const { return stored_; }
    int64_t num_ctx() const { return engine_ ? engine_->n_ctx() : encoder_->n_ctx(); }
    int num_slots() const { return num_slots_; }
    int64_t size_bytes() const { return size_bytes_; }
    int64_t load_duration_ns() const { return load_duration_ns_; }
    const nlohmann::json& params() const { return params_; }  // the params layer, {} when none
    // The prompt template: the model's template layer, else the GGUF's Jinja chat template, else
    // Ollama's "{{ .Prompt }}"; nullptr when the GGUF's Jinja template cannot be parsed
    // (template_error() says why).
    const ChatTemplate* chat_template() const { return chat_template_ ? &*chat_template_ : nullptr; }
    const std::string& template_error() const { return template_error_; }
    const std::string& system_prompt() const { return system_; }             // the system layer
    const std::vector<ChatMessage>& stored_messages() const { return messages_; }  // the messages layer
    bool is_embedding_model() const;
    // general.architecture of the GGUF ("llama", "qwen3", ...), which Ollama reports as the family.
    std::string architecture() const;
    // The NPU's part of the model; null when it runs on the CPU.
    const npu::NpuModel* npu() const { return npu_.get(); }
    // The KV pages the slots share: held by running requests and by the slots' prompt caches; null
    // for an encoder, which keeps none.
    const KvPagePool* kv_pool() const { return kv_pool_.get(); }
    // Prompt tokens of all requests run, and of them the ones the prompt cache held.
    int64_t prompt_tokens_total() const { return prompt_tokens_total_; }
    int64_t prompt_tokens_cached_total() const { return prompt_tokens_cached_total_; }
    // Passes of the engine and the tokens they ran: tokens per pass above 1 is batching at work.
    SequenceBatcher::Counters batch_counters() const { return batcher_ ? batcher_->counters() : SequenceBatcher::Counters{}; }

    // Runs the request's prompt in a slot and streams text; on_text returning false cancels. A
    // prompt as long as the context keeps its first token and its last half context. The slot
    // keeps the request's keys and values afterwards: the next request in it runs only what
    // follows the prefix they share.
    // With request.logprobs, each generated token's entry ({"token", "logprob", "bytes",
    // "top_logprobs"}, as Ollama's) is appended to *logprobs as the token is sampled.
    GenerationStats run(int slot, const InferenceRequest& request, const std::function<bool(const std::string&)>& on_text,
                        nlohmann::json* logprobs = nullptr);
    // How well a slot's prompt cache suits a prompt (higher is better), read only while no request
    // runs in the slot: a slot that holds at least half of the prompt, the more the better; else
    // the slot whose cache loses the least (an empty one first), so that another conversation's
    // cache is not thrown away for the few tokens a template starts every prompt with.
    int64_t prompt_cache_score(int slot, std::span<const int32_t> prompt) const;
    // A prompt's tokens (BOS added as the vocabulary says, special tokens parsed); of a prompt far
    // longer than the context, its first token and the tokens of enough of its end to overfill it.
    std::vector<int32_t> tokenize(const std::string& prompt) const;
    // A prompt's or a message's text cut to what can matter (shorten_keeping_ends): a text far
    // longer than the context keeps its start and enough of its end to overfill the context.
    std::string usable_text(std::string text) const;
    // Text of tokens from an earlier response's "context", to continue a conversation.
    std::string detokenize(std::span<const int32_t> tokens) const;
    // Embeds a text in a slot. Too long for the context: cut to fit when truncate, else
    // std::invalid_argument ("the input length exceeds the context length").
    Embedding embed(int slot, const std::string& text, bool truncate, bool normalize);

private:
    LoadedModel() = default;
    void load_decoder(const ModelStore& store, const LoadOptions& options);
    void load_encoder(const ModelStore& store, const LoadOptions& options);
    void load_tokenizer(int64_t n_vocab);
    // The params, template, system and messages layers.
    void load_prompt_layers(const ModelStore& store);
    nlohmann::json logprob_entry(const TokenLogprob& t) const;

    StoredModel stored_;
    std::shared_ptr<const gguf::File> file_;
    std::unique_ptr<Model> model_;
    std::unique_ptr<BertModel> encoder_model_;  // an embedding model's weights instead
    std::unique_ptr<Tokenizer> tokenizer_;
    size_t longest_piece_ = 1;  // the most text bytes a token stands for
    std::unique_ptr<npu::NpuModel> npu_;     // before the slots, whose backends point into it
    std::shared_ptr<KvPagePool> kv_pool_;
    std::unique_ptr<Transformer> engine_;
    std::unique_ptr<SequenceBatcher> batcher_;
    std::vector<std::unique_ptr<Sequence>> slots_;
    std::vector<Sequence*> slot_sequences_;  // the same, as the donors of a shared prefix
    int num_slots_ = 1;
    // An embedding model's encoder instead of the decoder above; texts take turns through it.
    std::unique_ptr<BertEncoder> encoder_;
    std::mutex encoder_mutex_;
    nlohmann::json params_ = nlohmann::json::object();
    std::optional<ChatTemplate> chat_template_;
    std::string template_error_;
    std::string system_;
    std::vector<ChatMessage> messages_;
    int64_t size_bytes_ = 0;
    std::atomic<int64_t> prompt_tokens_total_{0}, prompt_tokens_cached_total_{0};
    int64_t load_duration_ns_ = 0;
    // The vocabulary sorted for constrained sampling, built the first time a request asks for a format.
    mutable std::once_flag sorted_vocabulary_once_;
    mutable std::unique_ptr<SortedVocabulary> sorted_vocabulary_;
};

}  // namespace rockllm
