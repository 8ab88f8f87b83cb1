#include "daemon/bench_command.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <sstream>

#include <sys/resource.h>

#include <nlohmann/json.hpp>

#include "daemon/command_line.h"
#include "daemon/format_bench.h"
#include "llm/model.h"
#include "llm/synthetic_model.h"
#include "llm/transformer.h"
#include "tokenizer/tokenizer.h"

namespace rockllm {

namespace {

struct Stats {
    double mean = 0, stdev = 0;
};

Stats stats(const std::vector<double>& values) {
    Stats s;
    for (double v : values) s.mean += v;
    s.mean /= static_cast<double>(values.size());
    if (values.size() > 1) {
        double var = 0;
        for (double v : values) var += (v - s.mean) * (v - s.mean);
        s.stdev = std::sqrt(var / static_cast<double>(values.size() - 1));
    }
    return s;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double peak_rss_mib() {
    struct rusage usage {};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

std::vector<int> parse_int_list(const std::string& text, const std::string& flag) {
    std::vector<int> out;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
        try {
            size_t used = 0;
            const int v = std::stoi(item, &used);
            if (used != item.size() || v < 0) throw std::invalid_argument(item);
            out.push_back(v);
        } catch (const std::exception&) {
            throw UsageError("--" + flag + " needs a comma-separated list of numbers, not '" + text + "'");
        }
    }
    if (out.empty()) throw UsageError("--" + flag + " needs at least one number");
    return out;
}

}  // namespace

int run_bench_command(const std::vector<std::string>& args) {
    const CommandLine cl(args, {"model", "prompt-tokens", "gen-tokens", "threads", "repetitions", "output", "kv-type", "format-vocab"});
    const std::string path = cl.require("model");
    const auto prompt_lengths = parse_int_list(cl.get("prompt-tokens").value_or("128"), "prompt-tokens");
    const auto gen_lengths = parse_int_list(cl.get("gen-tokens").value_or("64"), "gen-tokens");
    const auto thread_counts = parse_int_list(cl.get("threads").value_or(std::to_string(default_thread_count())), "threads");
    const int64_t repetitions = cl.get_int("repetitions", 3);
    if (repetitions < 1) throw UsageError("--repetitions must be at least 1");
    const std::string output = cl.get("output").value_or("table");
    if (output != "table" && output != "json") throw UsageError("--output is table or json");
    const std::string kv = cl.get("kv-type").value_or("F16");
    if (kv != "F16" && kv != "F32") throw UsageError("--kv-type is F16 or F32");

    auto file = std::make_shared<const gguf::File>(gguf::File::open(path));
    const Model model = Model::load(file);
    const ModelConfig& c = model.config;
    uint64_t params = 0, tensor_bytes = 0;
    for (const auto& t : file->tensors()) {
        params += static_cast<uint64_t>(t.element_count());
        tensor_bytes += t.size_bytes;
    }
    const double size_mib = static_cast<double>(tensor_bytes) / (1024.0 * 1024.0);
    const std::string name = file->metadata().get_or<std::string>("general.name", path);

    int max_len = 1;
    for (int p : prompt_lengths) max_len = std::max(max_len, p);
    for (int g : gen_lengths) max_len = std::max(max_len, g);

    std::mt19937 rng(1);
    std::uniform_int_distribution<int32_t> token(3, static_cast<int32_t>(c.n_vocab - 1));
    nlohmann::json results = nlohmann::json::array();
    if (output == "table") {
        std::printf("| %-32s | %10s | %8s | %7s | %8s | %16s |\n", "model", "size", "params", "threads", "test", "t/s");
        std::printf("| %.32s | %.10s | %.8s | %.7s | %.8s | %.16s |\n", "--------------------------------",
                    "----------", "--------", "-------", "--------", "----------------");
    }
    for (int threads : thread_counts) {
        TransformerOptions options;
        options.n_ctx = max_len;
        options.n_batch = max_len;
        options.n_threads = threads;
        options.kv_type = kv == "F16" ? GgmlType::F16 : GgmlType::F32;
        Transformer transformer(model, options);
        // Warm up: touch every weight page once and start the threads.
        const int32_t warm = 1;
        transformer.forward(std::span(&warm, 1), 0);

        auto report = [&](const std::string& test, int n_tokens, const std::vector<double>& rates) {
            const Stats s = stats(rates);
            if (output == "table") {
                std::printf("| %-32.32s | %6.1f MiB | %6.1f M | %7d | %8s | %8.2f ± %5.2f |\n", name.c_str(), size_mib,
                            static_cast<double>(params) / 1e6, transformer.pool().size(), test.c_str(), s.mean, s.stdev);
                std::fflush(stdout);
            }
            results.push_back({{"model", name}, {"model_size_bytes", tensor_bytes}, {"weight_bytes_per_token", model.weight_bytes_per_token()},
                               {"params", params}, {"threads", transformer.pool().size()}, {"test", test},
                               {"n_tokens", n_tokens}, {"tokens_per_second", s.mean}, {"stdev", s.stdev},
                               {"samples", rates}, {"kernels", kernels::kernel_description()}});
        };
        for (int p : prompt_lengths) {
            if (p == 0) continue;
            std::vector<double> rates;
            for (int64_t r = 0; r < repetitions; ++r) {
                std::vector<int32_t> prompt(static_cast<size_t>(p));
                for (auto& t : prompt) t = token(rng);
                const auto start = std::chrono::steady_clock::now();
                transformer.forward(prompt, 0);
                rates.push_back(p / seconds_since(start));
            }
            report("pp" + std::to_string(p), p, rates);
        }
        for (int g : gen_lengths) {
            if (g == 0) continue;
            std::vector<double> rates;
            for (int64_t r = 0; r < repetitions; ++r) {
                int32_t next = token(rng);
                const auto start = std::chrono::steady_clock::now();
                for (int i = 0; i < g; ++i) {
                    const auto logits = transformer.forward(std::span(&next, 1), i);
                    next = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
                }
                rates.push_back(g / seconds_since(start));
            }
            report("tg" + std::to_string(g), g, rates);
        }
    }
    // Structured outputs: the constraint's cost per token, against the last generation step measured.
    double tg_step_us = 0;
    for (const auto& r : results)
        if (r["test"].get<std::string>().rfind("tg", 0) == 0) tg_step_us = 1e6 / r["tokens_per_second"].get<double>();
    nlohmann::json format_results = nlohmann::json::array();
    if (const auto vocabularies = cl.get("format-vocab")) {
        std::stringstream list(*vocabularies);
        std::string item;
        if (output == "table")
            std::printf("\n| %-28s | %7s | %6s | %9s | %13s | %10s | %13s | %9s |\n", "format mask: vocabulary", "tokens", "tested",
                        "us/token", "full mask us", "cache hits", "refused draws", "of a step");
        while (std::getline(list, item, ',')) {
            std::unique_ptr<Tokenizer> tokenizer;
            if (item == "model") tokenizer = load_tokenizer(*file);
            else tokenizer = load_tokenizer(gguf::File::open(item));
            const std::string label = item == "model" ? name : std::filesystem::path(item).filename().string();
            const FormatBenchResult f = bench_format_masking(*tokenizer, label, 512, 1);
            nlohmann::json j = f.to_json();
            if (tg_step_us > 0) j["fraction_of_tg_step"] = f.us_per_token / tg_step_us;
            format_results.push_back(j);
            if (output == "table") {
                std::printf("| %-28.28s | %7d | %6lld | %9.1f | %13.0f | %9.0f%% | %12.0f%% | %8.1f%% |\n", label.c_str(), f.vocabulary_size,
                            static_cast<long long>(f.tokens), f.us_per_token, f.full_mask_us, 100 * f.cache_hit_rate,
                            100 * f.refused_draw_rate, tg_step_us > 0 ? 100 * f.us_per_token / tg_step_us : 0.0);
                std::fflush(stdout);
            }
        }
    }

    if (output == "json") {
        nlohmann::json doc = {{"results", results}, {"peak_rss_mib", peak_rss_mib()}};
        if (!format_results.empty()) doc["format_masking"] = format_results;
        std::printf("%s\n", doc.dump(2).c_str());
    } else {
        std::printf("\nkernels: %s; peak memory (RSS): %.1f MiB\n", kernels::kernel_description().c_str(),
                    peak_rss_mib());
    }
    return 0;
}

int run_synth_command(const std::vector<std::string>& args) {
    const CommandLine cl(args, {"shape", "type", "out", "seed"});
    const SyntheticShape& shape = find_synthetic_shape(cl.require("shape"));
    const std::string type = cl.get("type").value_or("Q8_0");
    const std::string out = cl.require("out");
    const auto seed = static_cast<uint64_t>(cl.get_int("seed", 1));
    try {
        write_synthetic_model(shape, type, seed, out);
    } catch (const std::invalid_argument& e) {
        throw UsageError(e.what());
    }
    std::fprintf(stderr, "wrote %s (%s, %s)\n", out.c_str(), shape.name.c_str(), type.c_str());
    return 0;
}

}  // namespace rockllm
