#include "daemon/bench_compare.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "daemon/bench_measure.h"
#include "llm/transformer.h"

namespace rockllm {

namespace {

std::string quoted(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'') out += "'\\''";  // close, an escaped quote, reopen
        else out += c;
    }
    return out + "'";
}

std::string joined(const std::vector<int>& values) {
    std::string out;
    for (int v : values) {
        if (!out.empty()) out += ',';
        out += std::to_string(v);
    }
    return out;
}

// One run of the peer's llama-bench (one repetition per test): tokens/s by test name ("pp128").
std::map<std::string, double> run_peer(const CompareOptions& o) {
    std::vector<int> prompts, gens;
    for (int p : o.prompt_tokens) if (p > 0) prompts.push_back(p);
    for (int g : o.gen_tokens) if (g > 0) gens.push_back(g);
    const std::string command = quoted(o.peer) + " -m " + quoted(o.model_path) + " -t " + std::to_string(o.threads) +
                                " -p " + (prompts.empty() ? "0" : joined(prompts)) + " -n " + (gens.empty() ? "0" : joined(gens)) +
                                " -r 1 -o json 2>/dev/null";
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
    if (!pipe) throw std::runtime_error("cannot run " + o.peer);
    std::string output;
    char buffer[4096];
    for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe.get())) > 0;) output.append(buffer, n);
    const nlohmann::json results = nlohmann::json::parse(output, nullptr, false);
    if (!results.is_array()) throw std::runtime_error(o.peer + " gave no JSON results (is it llama-bench?)");
    std::map<std::string, double> out;
    for (const auto& r : results) {
        const int p = r.value("n_prompt", 0), g = r.value("n_gen", 0);
        out[g > 0 ? "tg" + std::to_string(g) : "pp" + std::to_string(p)] = r.value("avg_ts", 0.0);
    }
    return out;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace

int run_bench_compare(const Model& model, const CompareOptions& o) {
    int max_len = 1;
    for (int p : o.prompt_tokens) max_len = std::max(max_len, p);
    for (int g : o.gen_tokens) max_len = std::max(max_len, g);
    TransformerOptions options;
    options.n_ctx = max_len;
    options.n_batch = max_len;
    options.n_threads = o.threads;
    Transformer transformer(model, options);
    const int32_t warm = 1;
    transformer.forward(std::span(&warm, 1), 0);
    std::mt19937 rng(1);

    std::map<std::string, std::vector<double>> ours, theirs;
    for (int round = 0; round < o.rounds; ++round) {
        for (int p : o.prompt_tokens)
            if (p > 0) ours["pp" + std::to_string(p)].push_back(measure_prompt(transformer, p, rng));
        for (int g : o.gen_tokens)
            if (g > 0) ours["tg" + std::to_string(g)].push_back(measure_generation(transformer, g, rng));
        for (const auto& [test, rate] : run_peer(o)) theirs[test].push_back(rate);
        std::fprintf(stderr, "round %d of %d done\n", round + 1, o.rounds);
    }
    std::printf("%d rounds, each rockllm then %s, %d threads, medians in tokens/s\n", o.rounds, o.peer.c_str(), o.threads);
    std::printf("| %-8s | %10s | %10s | %7s |\n", "test", "rockllm", "peer", "ratio");
    std::printf("| -------- | ---------- | ---------- | ------- |\n");
    for (const auto& [test, rates] : ours) {
        const double a = median(rates), b = median(theirs[test]);
        std::printf("| %-8s | %10.2f | %10.2f | %7.2f |\n", test.c_str(), a, b, b > 0 ? a / b : 0.0);
    }
    return 0;
}

}  // namespace rockllm
