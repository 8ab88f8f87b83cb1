#include "daemon/bench_command.h"

#include "daemon/bench_compare.h"
#include "daemon/bench_measure.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <sstream>
#include <thread>

#include <sys/resource.h>

#include <nlohmann/json.hpp>

#include "daemon/command_line.h"
#include "daemon/command_backend.h"
#include "daemon/format_bench.h"
#include "llm/bert_encoder.h"
#include "llm/generation.h"
#include "llm/model.h"
#include "llm/sequence_batcher.h"
#include "llm/synthetic_model.h"
#include "llm/transformer.h"
#include "llm/weight_repack.h"
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

// An embedding model (a BERT-family encoder): how fast texts of each length embed, on the CPU.
int run_embedding_bench(const std::shared_ptr<const gguf::File>& file, const std::string& path, const std::vector<int>& lengths,
                        const std::vector<int>& thread_counts, int64_t repetitions, const std::string& output) {
    BertModel model = BertModel::load(file);
    repack_for_cpu(model);
    uint64_t tensor_bytes = 0;
    for (const auto& t : file->tensors()) tensor_bytes += t.size_bytes;
    const std::string name = file->metadata().get_or<std::string>("general.name", path);
    nlohmann::json results = nlohmann::json::array();
    if (output == "table") {
        std::printf("| %-32s | %10s | %7s | %8s | %16s | %10s |\n", "model", "size", "threads", "test", "t/s", "texts/s");
        std::printf("| %.32s | %.10s | %.7s | %.8s | %.16s | %.10s |\n", "--------------------------------", "----------", "-------",
                    "--------", "----------------", "----------");
    }
    std::mt19937 rng(1);
    for (int threads : thread_counts) {
        const int longest = *std::max_element(lengths.begin(), lengths.end());
        BertEncoder encoder(model, longest, std::make_shared<ThreadPool>(threads));
        measure_embedding(encoder, 1, rng);  // warm up: the threads start, the weights are touched
        for (int p : lengths) {
            if (p == 0) continue;
            if (p > encoder.n_ctx()) throw UsageError("--prompt-tokens " + std::to_string(p) + " is longer than the model's context of " +
                                                      std::to_string(encoder.n_ctx()));
            std::vector<double> rates;
            for (int64_t r = 0; r < repetitions; ++r) rates.push_back(measure_embedding(encoder, p, rng));
            const Stats s = stats(rates);
            const std::string test = "embed" + std::to_string(p);
            if (output == "table")
                std::printf("| %-32.32s | %6.1f MiB | %7d | %8s | %8.2f ± %5.2f | %10.2f |\n", name.c_str(),
                            static_cast<double>(tensor_bytes) / (1 << 20), threads, test.c_str(), s.mean, s.stdev, s.mean / p);
            results.push_back({{"model", name}, {"model_size_bytes", tensor_bytes}, {"threads", threads}, {"test", test}, {"n_tokens", p},
                               {"tokens_per_second", s.mean}, {"stdev", s.stdev}, {"samples", rates},
                               {"kernels", kernels::kernel_description()}, {"backend", "cpu"}});
        }
    }
    if (output == "json") std::printf("%s\n", nlohmann::json{{"results", results}, {"peak_rss_mib", peak_rss_mib()}}.dump(2).c_str());
    else std::printf("\nkernels: %s; peak memory (RSS): %.1f MiB\n", kernels::kernel_description().c_str(), peak_rss_mib());
    return 0;
}

}  // namespace

int run_bench_command(const std::vector<std::string>& args) {
    const CommandLine cl(args, {"model", "prompt-tokens", "gen-tokens", "threads", "repetitions", "output", "kv-type", "format-vocab", "backend",
                                "history-tokens", "parallel", "repack", "compare"});
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
    if (is_encoder_architecture(file->metadata().get_or<std::string>("general.architecture", ""))) {
        for (const char* decoder_only : {"gen-tokens", "kv-type", "format-vocab", "backend", "history-tokens", "parallel", "repack", "compare"})
            if (cl.get(decoder_only)) throw UsageError(std::string("--") + decoder_only + " applies to text models; this is an embedding model");
        return run_embedding_bench(file, path, prompt_lengths, thread_counts, repetitions, output);
    }
    Model model = Model::load(file);
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

    // The NPU when asked for (or found, with auto); bench reports the timing model's projection for it.
    CommandBackend npu = backend_for_command(model, cl.get("backend"));
    // --repack off keeps the file's layout: the same run can measure the kernels before repacking.
    const std::string repack = cl.get("repack").value_or("on");
    if (repack != "on" && repack != "off") throw UsageError("--repack is on or off");
    if (!npu.model && repack == "on") repack_for_cpu(model);
    if (const auto peer = cl.get("compare")) {
        if (npu.model) throw UsageError("--compare measures the CPU: run it with --backend cpu");
        return run_bench_compare(model, {*peer, path, prompt_lengths, gen_lengths, thread_counts.back(), static_cast<int>(repetitions)});
    }
    npu::NpuModel* npu_model = npu.model.get();
    const std::string backend_label = npu_model ? std::string("npu-") + npu::matmul_type_name(npu_model->type()) : "cpu";
    nlohmann::json projections = nlohmann::json::array();

    std::mt19937 rng(1);
    std::uniform_int_distribution<int32_t> token(3, static_cast<int32_t>(c.n_vocab - 1));
    nlohmann::json results = nlohmann::json::array();
    if (output == "table") {
        std::printf("| %-32s | %10s | %8s | %7s | %8s | %16s |\n", "model", "size", "params", "threads", "test", "t/s");
        std::printf("| %.32s | %.10s | %.8s | %.7s | %.8s | %.16s |\n", "--------------------------------",
                    "----------", "--------", "-------", "--------", "----------------");
    }
    // Host time of a test's runs, for the NPU projection: what the CPU did besides waiting for the device.
    double host_seconds = 0;
    auto report = [&](const std::string& test, int threads, int n_tokens, const std::vector<double>& rates) {
        const Stats s = stats(rates);
        if (npu_model) {
            const npu::NpuCallStats calls = npu_model->call_stats();
            const double tokens = static_cast<double>(n_tokens) * static_cast<double>(rates.size());
            // Outside the NPU calls all is CPU work; inside them, quantizing and the slowest
            // core's packing and unpacking (not the simulated device's time).
            const double cpu_share = host_seconds - static_cast<double>(calls.npu_wall_ns - calls.cpu_ns) * 1e-9;
            const double npu_projected = static_cast<double>(calls.projected_ns) * 1e-9;
            projections.push_back({{"test", test}, {"threads", threads}, {"host_tokens_per_second", s.mean},
                                   {"host_cpu_share_s_per_token", cpu_share / tokens},
                                   {"host_in_npu_calls_s_per_token", static_cast<double>(calls.npu_wall_ns) * 1e-9 / tokens},
                                   {"host_cpu_in_npu_calls_s_per_token", static_cast<double>(calls.cpu_ns) * 1e-9 / tokens},
                                   {"npu_projected_s_per_token", npu_projected / tokens},
                                   {"projected_tokens_per_second", tokens / (npu_projected + cpu_share)},
                                   {"projected_npu_only_tokens_per_second", tokens / npu_projected},
                                   {"npu_bytes_per_token", static_cast<double>(calls.bytes) / tokens},
                                   {"weight_bytes_on_npu", npu_model->device_bytes()},
                                   {"cpu_calls", calls.cpu_calls}, {"npu_calls", calls.npu_calls}});
        }
        if (output == "table") {
            std::printf("| %-32.32s | %6.1f MiB | %6.1f M | %7d | %8s | %8.2f ± %5.2f |\n", name.c_str(), size_mib,
                        static_cast<double>(params) / 1e6, threads, test.c_str(), s.mean, s.stdev);
            std::fflush(stdout);
        }
        results.push_back({{"model", name}, {"model_size_bytes", tensor_bytes}, {"weight_bytes_per_token", model.weight_bytes_per_token()},
                           {"params", params}, {"threads", threads}, {"test", test},
                           {"n_tokens", n_tokens}, {"tokens_per_second", s.mean}, {"stdev", s.stdev},
                           {"samples", rates}, {"kernels", kernels::kernel_description()}, {"backend", backend_label}});
    };
    for (int threads : thread_counts) {
        TransformerOptions options;
        options.n_ctx = max_len;
        options.n_batch = max_len;
        options.n_threads = threads;
        options.kv_type = kv == "F16" ? GgmlType::F16 : GgmlType::F32;
        Transformer transformer(model, options, npu_model ? npu_model->make_backend() : nullptr);
        // Warm up: touch every weight page once and start the threads.
        const int32_t warm = 1;
        transformer.forward(std::span(&warm, 1), 0);

        for (int p : prompt_lengths) {
            if (p == 0) continue;
            std::vector<double> rates;
            host_seconds = 0;
            if (npu_model) npu_model->reset_call_stats();
            for (int64_t r = 0; r < repetitions; ++r) {
                rates.push_back(measure_prompt(transformer, p, rng));
                host_seconds += p / rates.back();
            }
            report("pp" + std::to_string(p), transformer.pool().size(), p, rates);
        }
        for (int g : gen_lengths) {
            if (g == 0) continue;
            std::vector<double> rates;
            host_seconds = 0;
            if (npu_model) npu_model->reset_call_stats();
            for (int64_t r = 0; r < repetitions; ++r) {
                rates.push_back(measure_generation(transformer, g, rng));
                host_seconds += g / rates.back();
            }
            report("tg" + std::to_string(g), transformer.pool().size(), g, rates);
        }
    }
    // Parallel streams: N requests decoding together through one engine (batched decoding), as
    // the server runs them with OLLAMA_NUM_PARALLEL=N. Aggregate tokens/s of all N streams.
    if (const auto parallel = cl.get("parallel")) {
        const int gen = gen_lengths.back();
        for (int streams : parse_int_list(*parallel, "parallel")) {
            if (streams == 0) continue;
            TransformerOptions options;
            options.n_ctx = gen + 1;
            options.n_threads = thread_counts.back();
            options.kv_type = kv == "F16" ? GgmlType::F16 : GgmlType::F32;
            options.kv_pool = make_kv_pool(c, options.n_ctx, streams, options.kv_type);
            Transformer engine(model, options, npu_model ? npu_model->make_backend() : nullptr);
            SequenceBatcher batcher(engine);
            std::vector<std::unique_ptr<Sequence>> sequences;
            for (int i = 0; i < streams; ++i) sequences.push_back(engine.new_sequence());
            const int32_t warm = 1;
            engine.forward(std::span(&warm, 1), 0);
            engine.release_kv();  // the pool has pages for the streams only
            std::vector<double> rates;
            host_seconds = 0;
            if (npu_model) npu_model->reset_call_stats();
            const auto before = batcher.counters();
            for (int64_t r = 0; r < repetitions; ++r) {
                const auto start = std::chrono::steady_clock::now();
                std::vector<std::thread> threads;
                for (int i = 0; i < streams; ++i)
                    threads.emplace_back([&, i, first = token(rng)] {
                        Sampler greedy(0.0f, 0);
                        GenerationOptions o;  // no end tokens: every stream makes all its tokens
                        o.num_predict = gen;
                        sequences[static_cast<size_t>(i)]->release();
                        generate({engine, *sequences[static_cast<size_t>(i)], &batcher}, std::span(&first, 1), greedy, o,
                                 [](int32_t) { return true; });
                    });
                for (auto& t : threads) t.join();
                const double elapsed = seconds_since(start);
                host_seconds += elapsed;
                rates.push_back(static_cast<double>(streams) * gen / elapsed);
            }
            const auto after = batcher.counters();
            report("tg" + std::to_string(gen) + "x" + std::to_string(streams), engine.pool().size(), streams * gen, rates);
            results.back()["streams"] = streams;
            results.back()["tokens_per_pass"] =
                static_cast<double>(after.tokens - before.tokens) / static_cast<double>(std::max<int64_t>(1, after.passes - before.passes));
        }
    }

    // The prompt cache: the first token of a chat's next turn (32 new tokens) over a history, with
    // the whole conversation run again (cold) and with the history in the cache.
    nlohmann::json prompt_cache;
    if (const int64_t history = cl.get_int("history-tokens", 0); history > 0) {
        constexpr int64_t kNewTokens = 32;
        TransformerOptions options;
        options.n_ctx = history + kNewTokens + 1;
        options.n_threads = thread_counts.back();
        options.kv_type = kv == "F16" ? GgmlType::F16 : GgmlType::F32;
        Transformer transformer(model, options, npu_model ? npu_model->make_backend() : nullptr);
        std::vector<int32_t> conversation(static_cast<size_t>(history + kNewTokens));
        for (auto& t : conversation) t = token(rng);
        const std::vector<int32_t> earlier(conversation.begin(), conversation.begin() + history);
        GenerationOptions first_token_only;
        first_token_only.num_predict = 1;
        const auto time_first_token = [&](std::span<const int32_t> prompt) {
            Sampler greedy(0.0f, 0);
            const auto start = std::chrono::steady_clock::now();
            generate(transformer, prompt, greedy, first_token_only, [](int32_t) { return true; });
            return seconds_since(start) * 1e3;
        };
        std::vector<double> cold, cached;
        for (int64_t r = 0; r < repetitions; ++r) {
            transformer.release_kv();
            cold.push_back(time_first_token(conversation));
            transformer.release_kv();
            time_first_token(earlier);  // the earlier turns, as the slot would hold them
            cached.push_back(time_first_token(conversation));
        }
        const Stats c_stats = stats(cold), w_stats = stats(cached);
        prompt_cache = {{"history_tokens", history}, {"new_tokens", kNewTokens}, {"threads", transformer.pool().size()},
                        {"cold_ms", c_stats.mean}, {"cached_ms", w_stats.mean}, {"cold_samples", cold}, {"cached_samples", cached},
                        {"cached_over_cold", w_stats.mean / c_stats.mean}};
        if (output == "table")
            std::printf("\nnext chat turn (%lld new tokens) over a %lld-token history, time to first token: cold %.1f ± %.1f ms, "
                        "with the prompt cache %.1f ± %.1f ms (%.1f %% of cold)\n",
                        static_cast<long long>(kNewTokens), static_cast<long long>(history), c_stats.mean, c_stats.stdev, w_stats.mean,
                        w_stats.stdev, 100 * w_stats.mean / c_stats.mean);
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

    if (npu_model && output == "table") {
        // The timing model's RK3588 projection (docs/npu.md, "Projection"): the NPU's share from the
        // tasks' MACs and bytes, plus the CPU's share as this host measured it.
        const double bound = 31.0e9 / static_cast<double>(npu_model->device_bytes());
        std::printf("\nRK3588 projection (%s): NPU time from the timing model + this host's CPU share; decode bound %.1f t/s "
                    "(%.1f MiB of weights at 31 GB/s)\n", npu.startup.cores->description().c_str(), bound,
                    static_cast<double>(npu_model->device_bytes()) / (1 << 20));
        std::printf("| %7s | %6s | %10s | %12s | %12s | %10s | %12s | %8s |\n", "threads", "test", "host t/s", "CPU ms/token",
                    "NPU ms/token", "proj. t/s", "NPU-only t/s", "MB/token");
        for (const auto& j : projections)
            std::printf("| %7d | %6s | %10.2f | %12.3f | %12.3f | %10.1f | %12.1f | %8.1f |\n", j["threads"].get<int>(),
                        j["test"].get<std::string>().c_str(), j["host_tokens_per_second"].get<double>(),
                        1e3 * j["host_cpu_share_s_per_token"].get<double>(), 1e3 * j["npu_projected_s_per_token"].get<double>(),
                        j["projected_tokens_per_second"].get<double>(), j["projected_npu_only_tokens_per_second"].get<double>(),
                        j["npu_bytes_per_token"].get<double>() / 1e6);
    }
    if (output == "json") {
        nlohmann::json doc = {{"results", results}, {"peak_rss_mib", peak_rss_mib()}};
        if (!projections.empty()) doc["npu_projection"] = projections;
        if (!format_results.empty()) doc["format_masking"] = format_results;
        if (!prompt_cache.is_null()) doc["prompt_cache"] = prompt_cache;
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
