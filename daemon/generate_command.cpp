#include "daemon/generate_command.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <random>

#include "daemon/command_line.h"
#include "daemon/command_backend.h"
#include "llm/generation.h"
#include "llm/model.h"
#include "llm/weight_repack.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/text_stream.h"

namespace rockllm {

namespace {

constexpr int64_t kDefaultContext = 4096;  // Ollama's default num_ctx

void write_out(const std::string& text) {
    if (text.empty()) return;
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
}

}  // namespace

int run_generate_command(const std::vector<std::string>& args) {
    const CommandLine cl(args, {"model", "prompt", "num-predict", "temperature", "seed", "num-ctx", "threads", "top-k",
                                "top-p", "min-p", "typical-p", "repeat-penalty", "repeat-last-n", "presence-penalty",
                                "frequency-penalty", "stop", "backend"});
    if (!cl.positional().empty()) throw UsageError("unexpected argument '" + cl.positional().front() + "'");
    const std::string model_path = cl.require("model");
    const std::string prompt = cl.get("prompt").value_or("");
    const int64_t num_predict = cl.get_int("num-predict", -1);
    // Ollama's defaults for every option not given.
    SamplerOptions sampling;
    sampling.temperature = static_cast<float>(cl.get_double("temperature", sampling.temperature));
    sampling.top_k = static_cast<int32_t>(cl.get_int("top-k", sampling.top_k));
    sampling.top_p = static_cast<float>(cl.get_double("top-p", sampling.top_p));
    sampling.min_p = static_cast<float>(cl.get_double("min-p", sampling.min_p));
    sampling.typical_p = static_cast<float>(cl.get_double("typical-p", sampling.typical_p));
    sampling.repeat_penalty = static_cast<float>(cl.get_double("repeat-penalty", sampling.repeat_penalty));
    sampling.repeat_last_n = static_cast<int32_t>(cl.get_int("repeat-last-n", sampling.repeat_last_n));
    sampling.presence_penalty = static_cast<float>(cl.get_double("presence-penalty", sampling.presence_penalty));
    sampling.frequency_penalty = static_cast<float>(cl.get_double("frequency-penalty", sampling.frequency_penalty));
    sampling.seed = cl.get("seed") ? static_cast<uint64_t>(cl.get_int("seed", 0)) : std::random_device{}();

    auto file = std::make_shared<const gguf::File>(gguf::File::open(model_path));
    Model model = Model::load(file);
    const auto tokenizer = load_tokenizer(*file);
    check_vocabulary_size(*tokenizer, model.config.n_vocab);

    const int64_t n_ctx = cl.get_int("num-ctx", std::min(model.config.n_ctx_train, kDefaultContext));
    if (n_ctx <= 0 || n_ctx > model.config.n_ctx_train)
        throw UsageError("--num-ctx must be between 1 and the model's context length " +
                         std::to_string(model.config.n_ctx_train));

    const std::vector<int32_t> prompt_ids = tokenizer->encode(prompt, /*add_special=*/true, /*parse_special=*/true);
    if (prompt_ids.empty()) throw UsageError("the prompt is empty and the model has no BOS token to start from");

    TransformerOptions transformer_options;
    transformer_options.n_ctx = n_ctx;
    transformer_options.n_threads = static_cast<int>(cl.get_int("threads", 0));
    if (transformer_options.n_threads < 0 || transformer_options.n_threads > 256)
        throw UsageError("--threads must be between 0 (automatic) and 256");
    const CommandBackend npu = backend_for_command(model, cl.get("backend"));
    if (!npu.model) repack_for_cpu(model);
    Transformer transformer(model, transformer_options, npu.model ? npu.model->make_backend(transformer_options.isa) : nullptr);
    std::unique_ptr<Sampler> sampler;
    try {
        sampler = std::make_unique<Sampler>(sampling, n_ctx);
    } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
    }
    GenerationOptions options;
    options.num_predict = num_predict;
    options.end_tokens = tokenizer->vocabulary().end_of_generation_ids();

    // With no prompt text, the first word's leading space is the one encoding would have added.
    TextStream text(*tokenizer, cl.get_all("stop"), prompt.empty() && tokenizer->vocabulary().add_space_prefix);
    generate(transformer, prompt_ids, *sampler, options, [&](int32_t token) {
        write_out(text.push(token));
        return !text.stopped();
    });
    write_out(text.finish());
    return 0;
}

}  // namespace rockllm
