#include "api/loaded_model.h"
#include "api/ollama_options.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <fstream>
#include <limits>
#include <type_traits>
#include <random>
#include <sstream>
#include <stdexcept>

#include "base/elapsed.h"
#include "llm/embedding.h"
#include "llm/layer_tensors.h"
#include "llm/weight_repack.h"
#include "npu/backend/kv_page_memory.h"
#include "llm/logprobs.h"
#include "tokenizer/long_text.h"
#include "tokenizer/text_stream.h"

namespace rockllm {

namespace {

using Clock = std::chrono::steady_clock;

// An option's value, its type already checked (check_ollama_option_types): numbers must fit the
// field (a cast of an out-of-range double is undefined behaviour, which the request fuzzer found);
// a fractional number for an integer option is truncated, as Ollama does.
template <class T>
void take(const nlohmann::json& options, const char* key, T& out) {
    auto it = options.find(key);
    if (it == options.end() || it->is_null()) return;
    const auto wrong = [&](const char* why) { return std::invalid_argument(std::string("option \"") + key + "\" " + why); };
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
        if (!it->is_number()) throw wrong("has the wrong type");
        const double v = std::trunc(it->get<double>());
        if (!std::isfinite(v) || v < static_cast<double>(std::numeric_limits<T>::min()) ||
            v >= static_cast<double>(std::numeric_limits<T>::max()))
            throw wrong("is out of range");
        out = it->is_number_float() ? static_cast<T>(v) : it->get<T>();
    } else if constexpr (std::is_floating_point_v<T>) {
        if (!it->is_number()) throw wrong("has the wrong type");
        const double v = it->get<double>();
        if (!std::isfinite(v) || std::fabs(v) > static_cast<double>(std::numeric_limits<T>::max())) throw wrong("is out of range");
        out = static_cast<T>(v);
    } else {
        try {
            out = it->get<T>();
        } catch (const nlohmann::json::exception&) {
            throw wrong("has the wrong type");
        }
    }
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

void InferenceRequest::apply_ollama_options(const nlohmann::json& options) {
    if (options.is_null()) return;
    if (!options.is_object()) throw std::invalid_argument("options must be an object");
    check_ollama_option_types(options);
    take(options, "temperature", sampling.temperature);
    take(options, "top_k", sampling.top_k);
    take(options, "top_p", sampling.top_p);
    take(options, "min_p", sampling.min_p);
    take(options, "typical_p", sampling.typical_p);
    take(options, "repeat_last_n", sampling.repeat_last_n);
    take(options, "repeat_penalty", sampling.repeat_penalty);
    take(options, "presence_penalty", sampling.presence_penalty);
    take(options, "frequency_penalty", sampling.frequency_penalty);
    take(options, "num_predict", num_predict);
    take(options, "num_keep", num_keep);
    if (options.contains("seed") && !options["seed"].is_null()) {
        int64_t seed = -1;
        take(options, "seed", seed);
        seed_given = seed >= 0;  // -1: random, as in Ollama
        if (seed_given) sampling.seed = static_cast<uint64_t>(seed);
    }
    take(options, "stop", stop);
}

namespace {

const Layer& model_layer(const StoredModel& stored) {
    const Layer* weights = stored.manifest.first(media_type::kModel);
    if (!weights) throw std::runtime_error("model '" + stored.name.display() + "' has no model layer");
    return *weights;
}

int64_t context_for(int64_t trained, int64_t requested) { return std::min(requested, trained); }

int64_t kv_cache_bytes(const ModelConfig& config, int64_t n_ctx) {
    return 2 * config.n_layer * n_ctx * config.kv_dim() * 2;  // K and V, F16
}

// Where the NPU's converted weights of a model are cached: under its weights' blob, or, with an
// adapter merged in, under the adapter blob's name (so they go with it) and the base's.
npu::NpuModelOptions npu_options(const ModelStore& store, const StoredModel& stored, const LoadOptions& options) {
    npu::NpuModelOptions o;
    o.type = options.npu_type;
    o.cache_dir = store.derived_dir();
    o.digest = store.blob_path(model_layer(stored).digest).filename().string();
    if (const Layer* layer = stored.manifest.first(media_type::kAdapter))
        o.digest = store.blob_path(layer->digest).filename().string() + ".on-" + digest_hex(model_layer(stored).digest);
    o.log = options.log;
    return o;
}

std::string gib(int64_t bytes) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.1f GiB", static_cast<double>(bytes) / (1 << 30));
    return buffer;
}

void check_fits(int64_t bytes, const LoadOptions& options) {
    if (bytes > options.available_bytes)
        throw InsufficientMemory("model requires more system memory (" + gib(bytes) + ") than is available (" +
                                 gib(options.available_bytes) + ")");
}

}  // namespace

std::unique_ptr<LoadedModel> LoadedModel::load(const ModelStore& store, const StoredModel& stored, const LoadOptions& options) {
    const auto start = Clock::now();
    std::unique_ptr<LoadedModel> m(new LoadedModel());
    m->stored_ = stored;
    m->file_ = std::make_shared<const gguf::File>(gguf::File::open(store.blob_path(model_layer(stored).digest).string()));
    m->num_slots_ = std::max(1, options.num_parallel);
    if (is_encoder_architecture(m->architecture())) m->load_encoder(store, options);
    else m->load_decoder(store, options);
    m->load_prompt_layers(store);
    m->load_duration_ns_ = ns_since(start);
    return m;
}

void LoadedModel::load_decoder(const ModelStore& store, const LoadOptions& options) {
    std::optional<LoraAdapter> adapter;  // merged into the weights at load, as Ollama applies ADAPTER
    if (const Layer* layer = stored_.manifest.first(media_type::kAdapter)) {
        const auto adapter_file = std::make_shared<const gguf::File>(gguf::File::open(store.blob_path(layer->digest).string()));
        adapter.emplace(LoraAdapter::open(adapter_file, file_->metadata().get_or<std::string>("general.architecture", "")));
    }
    model_ = std::make_unique<Model>(Model::load(file_, adapter ? &*adapter : nullptr));
    const ModelConfig& config = model_->config;
    const int64_t n_ctx = context_for(config.n_ctx_train, options.num_ctx);
    size_bytes_ = static_cast<int64_t>(file_->bytes().size()) + options.num_parallel * kv_cache_bytes(config, n_ctx);
    if (options.npu) size_bytes_ += npu::npu_weight_bytes(npu::npu_matrix_groups(*model_), options.npu_type);
    check_fits(size_bytes_, options);
    load_tokenizer(config.n_vocab);
    if (options.npu) {
        ThreadPool conversion_pool(default_thread_count());
        npu_ = std::make_unique<npu::NpuModel>(*model_, *options.npu, npu_options(store, stored_, options), conversion_pool);
    }
    if (!npu_) {
        const RepackReport repacked = repack_for_cpu(*model_);
        if (repacked.matrices > 0)
            options.log("repacked " + std::to_string(repacked.matrices) + " matrices (" + std::to_string(repacked.bytes >> 20) +
                        " MiB) for the CPU kernels");
    }
    const int slots = num_slots_;
    // With the NPU, KV pages live in memory it can address (npu/backend/kv_page_memory.h).
    std::shared_ptr<KvPageMemory> kv_memory = std::make_shared<HostKvPageMemory>();
    if (options.npu) kv_memory = std::make_shared<npu::NpuKvPageMemory>(*options.npu);
    kv_pool_ = make_kv_pool(config, n_ctx, slots, GgmlType::F16, kv_memory);
    options.log(std::string("KV cache: up to ") + std::to_string(kv_pool_->max_pages()) + " pages of " +
                std::to_string(kv_pool_->layout().page_tokens) + " positions (" +
                std::to_string(kv_pool_->page_bytes() >> 10) + " KiB each) in " + kv_memory->name() + ", shared by " +
                std::to_string(slots) + " slot(s)");
    TransformerOptions transformer_options;
    transformer_options.n_ctx = n_ctx;
    transformer_options.kv_pool = kv_pool_;
    transformer_options.pool = options.pool;
    engine_ = std::make_unique<Transformer>(*model_, transformer_options,
                                               npu_ ? npu_->make_backend(transformer_options.isa) : nullptr);
    batcher_ = std::make_unique<SequenceBatcher>(*engine_);
    for (int i = 0; i < slots; ++i) {
        slots_.push_back(engine_->new_sequence());
        slot_sequences_.push_back(slots_.back().get());
    }
}

void LoadedModel::load_encoder(const ModelStore& store, const LoadOptions& options) {
    if (stored_.manifest.first(media_type::kAdapter)) throw std::runtime_error("adapters apply to text models, not to embedding models");
    encoder_model_ = std::make_unique<BertModel>(BertModel::load(file_));
    const BertConfig& config = encoder_model_->config;
    const int64_t n_ctx = context_for(config.n_ctx_train, options.num_ctx);
    // The weights, and the activations of one text: a few rows of the model's widths per token and
    // one row of attention scores per thread.
    size_bytes_ = static_cast<int64_t>(file_->bytes().size()) + n_ctx * (6 * config.n_embd + 2 * config.n_ff + 64) * 4;
    const std::vector<npu::NpuMatrixGroup> groups = npu::npu_matrix_groups(*encoder_model_);
    if (options.npu) size_bytes_ += npu::npu_weight_bytes(groups, options.npu_type);
    check_fits(size_bytes_, options);
    load_tokenizer(config.n_vocab);
    if (options.npu) {
        ThreadPool conversion_pool(default_thread_count());
        npu_ = std::make_unique<npu::NpuModel>(groups, "embedding look-ups, LayerNorms, biases, RoPE, attention, activations, pooling",
                                               *options.npu, npu_options(store, stored_, options), conversion_pool);
    } else {
        const RepackReport repacked = repack_for_cpu(*encoder_model_);
        if (repacked.matrices > 0)
            options.log("repacked " + std::to_string(repacked.matrices) + " matrices (" + std::to_string(repacked.bytes >> 20) +
                        " MiB) for the CPU kernels");
    }
    encoder_ = std::make_unique<BertEncoder>(*encoder_model_, n_ctx, options.pool, npu_ ? npu_->make_backend() : nullptr);
}

void LoadedModel::load_tokenizer(int64_t n_vocab) {
    tokenizer_ = rockllm::load_tokenizer(*file_);
    check_vocabulary_size(*tokenizer_, n_vocab);
    longest_piece_ = longest_piece_bytes(*tokenizer_);
}

void LoadedModel::load_prompt_layers(const ModelStore& store) {
    if (const Layer* params = stored_.manifest.first(media_type::kParams)) {
        params_ = nlohmann::json::parse(read_file(store.blob_path(params->digest).string()), nullptr, false);
        if (!params_.is_object()) params_ = nlohmann::json::object();
    }
    if (const Layer* layer = stored_.manifest.first(media_type::kTemplate)) {
        try {
            chat_template_.emplace(read_file(store.blob_path(layer->digest).string()));
        } catch (const gotmpl::TemplateError& e) {
            throw std::runtime_error("the template of '" + stored_.name.display() + "' cannot be parsed: " + e.what());
        }
    } else if (const auto jinja = file_->metadata().get_or<std::string>("tokenizer.chat_template", ""); !jinja.empty()) {
        // The GGUF's own Jinja template. Its bos_token is left empty when the tokenizer adds BOS
        // itself, so that the prompt does not start with two.
        const Vocabulary& vocab = tokenizer_->vocabulary();
        const auto token_text = [&](std::optional<int32_t> id) { return id && vocab.is_valid(*id) ? vocab.tokens[*id] : std::string(); };
        try {
            chat_template_ = ChatTemplate::jinja(jinja, vocab.add_bos ? std::string() : token_text(vocab.bos_id), token_text(vocab.eos_id));
        } catch (const jinja::Error& e) {
            template_error_ = e.what();
        }
    } else {
        chat_template_.emplace(kDefaultTemplate);
    }
    if (const Layer* layer = stored_.manifest.first(media_type::kSystem)) system_ = read_file(store.blob_path(layer->digest).string());
    if (const Layer* layer = stored_.manifest.first(media_type::kMessages)) {
        const nlohmann::json messages = nlohmann::json::parse(read_file(store.blob_path(layer->digest).string()), nullptr, false);
        if (messages.is_array())
            for (const auto& message : messages)
                if (message.is_object())
                    messages_.push_back({message.value("role", ""), message.value("content", "")});
    }
}

std::vector<int32_t> LoadedModel::tokenize(const std::string& prompt) const {
    // Of a prompt longer than the context only the first token and the end are run (run()), and
    // only whether it fits is asked of its length (a chat dropping its oldest messages).
    return encode_keeping_end(*tokenizer_, prompt, static_cast<size_t>(num_ctx()), longest_piece_);
}

std::string LoadedModel::usable_text(std::string text) const {
    // Four times what encode_keeping_end looks at first: room for text whose tokens cover more
    // bytes than their pieces (normalised spaces).
    const size_t limit = 4 * (static_cast<size_t>(num_ctx()) + 64) * longest_piece_;
    return shorten_keeping_ends(std::move(text), limit);
}

std::string LoadedModel::detokenize(std::span<const int32_t> tokens) const {
    for (int32_t t : tokens)
        if (t < 0 || t >= tokenizer_->vocabulary().size()) throw std::invalid_argument("context holds a token id outside the vocabulary");
    return tokenizer_->decode(tokens);
}

bool LoadedModel::is_embedding_model() const { return is_embedding_file(*file_); }

namespace {

// The request is over: its KV pages go back to the pool (requests start from position 0).
struct KvRelease {
    Sequence& sequence;
    ~KvRelease() { sequence.release(); }
};

}  // namespace

Embedding LoadedModel::embed(int slot, const std::string& text, bool truncate, bool normalize) {
    const auto n_ctx = static_cast<size_t>(num_ctx());
    std::vector<int32_t> tokens = encode_keeping_start(*tokenizer_, text, n_ctx, longest_piece_);
    if (tokens.empty()) throw std::invalid_argument("the input has no tokens");
    if (tokens.size() > n_ctx) {
        if (!truncate) throw std::invalid_argument("the input length exceeds the context length");
        // A vocabulary that closes every text with a token ([SEP] in BERT's) closes the cut one too.
        const Vocabulary& vocab = tokenizer_->vocabulary();
        const std::optional<int32_t> closing = vocab.add_sep ? vocab.sep_id : vocab.add_eos ? vocab.eos_id : std::nullopt;
        const bool closed = closing && tokens.back() == *closing;
        tokens.resize(closed ? n_ctx - 1 : n_ctx);
        if (closed) tokens.push_back(*closing);
    }
    Embedding e;
    e.token_count = static_cast<int64_t>(tokens.size());
    if (encoder_) {
        const std::lock_guard lock(encoder_mutex_);
        e.vector = encoder_->embed(tokens, normalize);
    } else {
        Sequence& sequence = *slots_.at(static_cast<size_t>(slot));
        const KvRelease release{sequence};
        e.vector = batcher_->exclusive([&](Transformer& engine) { return rockllm::embed(engine, sequence, tokens, pooling_for(*file_), normalize); });
    }
    for (float v : e.vector)
        if (!std::isfinite(v)) throw std::runtime_error("the embedding has a value that is not finite");
    return e;
}

std::string LoadedModel::architecture() const { return file_->metadata().get_or<std::string>("general.architecture", ""); }

int64_t LoadedModel::prompt_cache_score(int slot, std::span<const int32_t> prompt) const {
    if (!engine_) return 0;  // an encoder caches nothing
    const Sequence& t = *slots_.at(static_cast<size_t>(slot));
    const int64_t shared = t.reusable_prefix(prompt);
    if (shared > 0 && 2 * shared >= static_cast<int64_t>(prompt.size())) return (int64_t{1} << 40) + shared;
    return -(static_cast<int64_t>(t.cached_tokens().size()) - shared);
}

nlohmann::json LoadedModel::logprob_entry(const TokenLogprob& t) const {
    // Ollama's TokenLogprob: the token's text, its log probability, its bytes.
    const std::string text = tokenizer_->token_to_piece(t.token, /*render_special=*/true);
    nlohmann::json bytes = nlohmann::json::array();
    for (unsigned char c : text) bytes.push_back(static_cast<int>(c));
    nlohmann::json entry = {{"token", text}, {"logprob", t.logprob}};
    if (!text.empty()) entry["bytes"] = std::move(bytes);
    return entry;
}

GenerationStats LoadedModel::run(int slot, const InferenceRequest& request, const std::function<bool(const std::string&)>& on_text,
                                 nlohmann::json* logprobs) {
    if (!engine_) throw std::invalid_argument("an embedding model does not generate text");
    Sequence& sequence = *slots_.at(static_cast<size_t>(slot));
    const Transformer& transformer = *engine_;
    // The slot keeps its keys and values for the next request (the prompt cache), unless this one
    // fails: then nothing of it is trusted.
    struct ForgetOnFailure {
        Sequence& sequence;
        int exceptions = std::uncaught_exceptions();
        ~ForgetOnFailure() {
            if (std::uncaught_exceptions() > exceptions) sequence.release();
        }
    } forget{sequence};
    SamplerOptions sampling = request.sampling;
    if (!request.seed_given) sampling.seed = std::random_device{}();
    Sampler sampler(sampling, transformer.n_ctx());  // throws std::invalid_argument for bad options

    if (request.prompt.empty()) throw std::invalid_argument("the prompt has no tokens");
    // As generate() will fit it: the answer's budget below depends on what is left of the context.
    const std::vector<int32_t> prompt = fit_prompt(request.prompt, transformer.n_ctx());

    GenerationOptions options;
    options.num_predict = request.num_predict;
    options.num_keep = request.num_keep < 0 ? static_cast<int64_t>(prompt.size()) : request.num_keep;
    options.end_tokens = tokenizer_->vocabulary().end_of_generation_ids();
    if (request.logprobs && logprobs)
        options.on_sampled = [&](std::span<const float> logits, int32_t token) {
            const SampledLogprobs sampled = logprobs_of(logits, token, request.top_logprobs);
            nlohmann::json entry = logprob_entry(sampled.sampled);
            if (!sampled.top.empty()) {
                entry["top_logprobs"] = nlohmann::json::array();
                for (const TokenLogprob& t : sampled.top) entry["top_logprobs"].push_back(logprob_entry(t));
            }
            logprobs->push_back(std::move(entry));
        };

    // A structured answer is steered to be complete within num_predict and what is left of the
    // context. When even the shortest answer does not fit, it is cut off there (done_reason
    // "length"), as Ollama's is.
    std::optional<TokenConstraint> constraint;
    if (request.format) {
        std::call_once(sorted_vocabulary_once_, [this] { sorted_vocabulary_ = std::make_unique<SortedVocabulary>(tokenizer_->all_pieces()); });
        int64_t budget = transformer.n_ctx() - static_cast<int64_t>(prompt.size());
        if (request.num_predict > 0) budget = std::min(budget, request.num_predict);
        constraint.emplace(*request.format, *sorted_vocabulary_, options.end_tokens, budget);
        if (constraint->min_answer_bytes() > budget) constraint.emplace(*request.format, *sorted_vocabulary_, options.end_tokens, -1);
        sampler.set_constraint(&*constraint);
        options.context_shift = false;
    }

    GenerationStats stats;
    stats.context = prompt;
    TextStream text_stream(*tokenizer_, request.stop);
    bool client_gone = false;
    const GenerationTarget target{*engine_, sequence, batcher_.get(), slot_sequences_};
    const GenerationResult result = rockllm::generate(target, prompt, sampler, options, [&](int32_t token) {
        stats.context.push_back(token);
        const std::string text = text_stream.push(token);
        if (!text.empty() && !on_text(text)) {
            client_gone = true;
            return false;
        }
        return !text_stream.stopped();
    });
    if (!client_gone) {
        const std::string rest = text_stream.finish();
        if (!rest.empty()) on_text(rest);
    }
    stats.prompt_eval_duration_ns = result.prompt_eval_ns;
    stats.eval_duration_ns = result.eval_ns;
    stats.eval_count = result.generated_tokens;
    // As Ollama counts it (llm/llama_server.go: cached + evaluated): the whole prompt, whatever
    // part of it the cache held; the model's counters say that part.
    stats.prompt_eval_count = result.prompt_tokens;
    prompt_tokens_total_ += result.prompt_tokens;
    prompt_tokens_cached_total_ += result.prompt_tokens - result.prompt_evaluated;
    stats.done_reason = result.reason == StopReason::Length ? "length" : "stop";
    return stats;
}

}  // namespace rockllm
