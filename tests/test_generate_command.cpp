// The `rockllm generate` command-line contract, run as a separate process.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include "llm/synthetic_model.h"
#include "test_support.h"

namespace test_generate_command {

using rockllm::test::testdata;

namespace {

struct Run {
    int exit_code;
    std::string out;
    std::string err;
};

std::string shell_quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

Run run_rockllm(const std::vector<std::string>& args) {
    rockllm::test::ScratchDir dir;
    // A command of its own when the arguments start with env (to set the environment), else rockllm's.
    std::string command = args.empty() || args[0] != "env" ? shell_quote(ROCKLLM_BINARY) : "";
    for (const auto& a : args) command += (command.empty() ? "" : " ") + shell_quote(a);
    command += " >" + shell_quote(dir.file("out")) + " 2>" + shell_quote(dir.file("err"));
    const int status = std::system(command.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, rockllm::test::read_text(dir.file("out")),
            rockllm::test::read_text(dir.file("err"))};
}

}  // namespace

TEST_SUITE_BEGIN("serve");

TEST_CASE("rockllm generate prints exactly the greedy continuation of the reference") {
    const auto reference = nlohmann::json::parse(rockllm::test::read_text(testdata("models/stories260K.greedy.json")));
    for (const auto& c : reference.at("cases")) {
        const std::string prompt = c.at("prompt");
        const std::string text = c.at("text");
        CAPTURE(prompt);
        const int64_t n = c.at("n_generated");
        const Run r = run_rockllm({"generate", "--model", testdata("models/stories260K.gguf"), "--prompt", prompt,
                                   "--num-predict", std::to_string(n), "--temperature", "0"});
        CHECK(r.exit_code == 0);
        CHECK(r.err.empty());
        // The reference text is the prompt followed by the continuation; stdout holds only the latter.
        REQUIRE(text.starts_with(prompt));
        CHECK(r.out == text.substr(prompt.size()));
    }
}

TEST_CASE("rockllm generate with a seed is repeatable") {
    const std::vector<std::string> args = {"generate", "--model", testdata("models/stories260K.gguf"),
                                           "--prompt", "Lily", "--num-predict", "30", "--temperature", "0.9", "--seed", "5"};
    const Run a = run_rockllm(args), b = run_rockllm(args);
    CHECK(a.exit_code == 0);
    CHECK(!a.out.empty());
    CHECK(a.out == b.out);
}

TEST_CASE("rockllm generate --stop ends the output before the stop text") {
    const std::string model = testdata("models/stories260K.gguf");
    const Run full = run_rockllm({"generate", "--model", model, "--prompt", "Once upon a time", "--num-predict", "60",
                                  "--temperature", "0"});
    REQUIRE(full.out.find("Lily") != std::string::npos);
    const Run stopped = run_rockllm({"generate", "--model", model, "--prompt", "Once upon a time", "--num-predict",
                                     "60", "--temperature", "0", "--stop", "Lily", "--stop", "never appears"});
    CHECK(stopped.exit_code == 0);
    CHECK(stopped.out == full.out.substr(0, full.out.find("Lily")));
}

TEST_CASE("rockllm generate: errors go to stderr with a non-zero exit") {
    const Run missing = run_rockllm({"generate", "--model", "/nonexistent/model.gguf", "--prompt", "x"});
    CHECK(missing.exit_code != 0);
    CHECK(missing.out.empty());
    CHECK(missing.err.find("/nonexistent/model.gguf") != std::string::npos);

    const Run not_gguf = run_rockllm({"generate", "--model", testdata("models/stories260K.gguf.inp")});
    CHECK(not_gguf.exit_code != 0);
    CHECK(not_gguf.err.find("not a GGUF file") != std::string::npos);

    const Run no_model = run_rockllm({"generate", "--prompt", "x"});
    CHECK(no_model.exit_code != 0);
    CHECK(no_model.err.find("--model") != std::string::npos);

    const Run bad_flag = run_rockllm({"generate", "--model", testdata("models/stories260K.gguf"), "--bogus", "1"});
    CHECK(bad_flag.exit_code != 0);
    CHECK(bad_flag.err.find("--bogus") != std::string::npos);

    const Run bad_number = run_rockllm({"generate", "--model", testdata("models/stories260K.gguf"), "--num-predict", "ten"});
    CHECK(bad_number.exit_code != 0);
    CHECK(bad_number.err.find("integer") != std::string::npos);

    const Run no_vocab_model = run_rockllm({"generate", "--model", testdata("vocab/ggml-vocab-llama-spm.gguf")});
    CHECK(no_vocab_model.exit_code != 0);
    CHECK(no_vocab_model.err.find("token_embd.weight") != std::string::npos);

    const Run bad_top_p = run_rockllm({"generate", "--model", testdata("models/stories260K.gguf"), "--top-p", "2"});
    CHECK(bad_top_p.exit_code != 0);
    CHECK(bad_top_p.err.find("top_p") != std::string::npos);

    // No arguments: the usage on stdout and success, as `ollama` does.
    const Run usage = run_rockllm({});
    CHECK(usage.exit_code == 0);
    CHECK(usage.out.find("Usage:") != std::string::npos);
    CHECK(usage.out.find("serve") != std::string::npos);
    CHECK(usage.out.find("pull") != std::string::npos);
    const Run unknown = run_rockllm({"frobnicate"});
    CHECK(unknown.exit_code != 0);
    CHECK(unknown.err.find("unknown command \"frobnicate\"") != std::string::npos);
}

TEST_CASE("rockllm generate --backend npu on the simulated NPU: fp16 prints the reference continuation, a missing NPU is an error") {
    const auto reference = nlohmann::json::parse(rockllm::test::read_text(testdata("models/stories260K.greedy.json")));
    const auto& c = reference.at("cases").at(1);
    const std::string prompt = c.at("prompt");
    const std::string text = c.at("text");
    for (const char* driver : {"rocket", "rknpu"}) {
        CAPTURE(driver);
        const Run r = run_rockllm({"env", std::string("ROCKLLM_NPU_SIMULATE=") + driver, "ROCKLLM_NPU_DTYPE=fp16", ROCKLLM_BINARY, "generate",
                                   "--backend", "npu", "--model", testdata("models/stories260K.gguf"), "--prompt", prompt,
                                   "--num-predict", std::to_string(c.at("n_generated").get<int>()), "--temperature", "0"});
        CHECK(r.exit_code == 0);
        CHECK(r.out == text.substr(prompt.size()));
        CHECK(r.err.find("npu: 21 of 21 matrix groups on 3 cores in fp16") != std::string::npos);
    }
    const Run missing = run_rockllm({"env", "-u", "ROCKLLM_NPU_SIMULATE", ROCKLLM_BINARY, "generate", "--backend", "npu", "--model",
                                     testdata("models/stories260K.gguf"), "--prompt", "x", "--num-predict", "1"});
    CHECK(missing.exit_code == 1);
    CHECK(missing.out.empty());
    CHECK(missing.err.find("--backend npu: no NPU found") != std::string::npos);
    const Run bad = run_rockllm({"generate", "--backend", "gpu", "--model", testdata("models/stories260K.gguf"), "--prompt", "x"});
    CHECK(bad.exit_code == 2);
    CHECK(bad.err.find("the backend must be auto, npu or cpu") != std::string::npos);
}

TEST_SUITE_END();

TEST_CASE("rockllm bench --compare runs the peer's llama-bench in alternating rounds and prints the ratios") {
    const rockllm::test::ScratchDir dir;
    // A stand-in llama-bench: logs its arguments, answers as llama-bench -o json does.
    const std::string peer = dir.file("llama-bench"), log = dir.file("peer.log");
    {
        FILE* f = std::fopen(peer.c_str(), "w");
        REQUIRE(f);
        std::fprintf(f, "#!/bin/sh\necho \"$@\" >> %s\n", shell_quote(log).c_str());
        std::fprintf(f, "echo '[{\"n_prompt\": 16, \"n_gen\": 0, \"avg_ts\": 1000.0}, {\"n_prompt\": 0, \"n_gen\": 8, \"avg_ts\": 0.5}]'\n");
        std::fclose(f);
    }
    REQUIRE(std::system(("chmod +x " + shell_quote(peer)).c_str()) == 0);
    const std::string model = testdata("models/stories260K.gguf");
    const Run r = run_rockllm({"bench", "--model", model, "--compare", peer, "--prompt-tokens", "16", "--gen-tokens", "8",
                               "--threads", "1", "--repetitions", "3", "--backend", "cpu"});
    CAPTURE(r.err);
    REQUIRE(r.exit_code == 0);
    // Three rounds, each running the peer once on the same file, threads and tests.
    const std::string calls = rockllm::test::read_text(log);
    CHECK(std::count(calls.begin(), calls.end(), '\n') == 3);
    CHECK(calls.find("-m " + model + " -t 1 -p 16 -n 8 -r 1 -o json") != std::string::npos);
    // The table: each test with both medians and their ratio (rockllm is far above 0.5 t/s on tg8).
    CHECK(r.out.find("| pp16     |") != std::string::npos);
    CHECK(r.out.find("1000.00 |") != std::string::npos);
    const auto tg = r.out.find("| tg8      |");
    REQUIRE(tg != std::string::npos);
    const std::string row = r.out.substr(tg, r.out.find('\n', tg) - tg);
    CAPTURE(row);
    CHECK(row.find("0.50 |") != std::string::npos);
    const double ratio = std::stod(row.substr(row.rfind('|', row.size() - 2) + 1));
    CHECK(ratio > 2.0);
    // A peer that is not llama-bench: a clear error.
    const Run bad = run_rockllm({"bench", "--model", model, "--compare", "/bin/true", "--prompt-tokens", "16", "--gen-tokens", "8",
                                 "--repetitions", "1", "--backend", "cpu"});
    CHECK(bad.exit_code != 0);
    CHECK(bad.err.find("gave no JSON results") != std::string::npos);
}

TEST_CASE("rockllm bench on an embedding model measures embedding speed, and refuses the text-model flags") {
    rockllm::test::ScratchDir dir;
    const std::string model = dir.file("bert.gguf");
    rockllm::write_synthetic_model(rockllm::find_synthetic_shape("tiny-bert"), "Q8_0", 1, model);
    const Run r = run_rockllm({"bench", "--model", model, "--prompt-tokens", "8,64", "--threads", "1", "--repetitions", "2", "--output", "json"});
    CAPTURE(r.err);
    REQUIRE(r.exit_code == 0);
    const nlohmann::json results = nlohmann::json::parse(r.out).at("results");
    REQUIRE(results.size() == 2);
    CHECK(results[0].at("test") == "embed8");
    CHECK(results[1].at("test") == "embed64");
    CHECK(results[1].at("samples").size() == 2);
    CHECK(results[1].at("tokens_per_second").get<double>() > 0);
    const Run generation = run_rockllm({"bench", "--model", model, "--gen-tokens", "8"});
    CHECK(generation.exit_code == 2);
    CHECK(generation.err.find("--gen-tokens applies to text models") != std::string::npos);
    const Run too_long = run_rockllm({"bench", "--model", model, "--prompt-tokens", "129"});
    CHECK(too_long.exit_code == 2);
    CHECK(too_long.err.find("longer than the model's context of 128") != std::string::npos);
}

TEST_CASE("rockllm COMMAND --help and help COMMAND print the command's usage and do nothing else, --version the version") {
    // rm --help must not try to remove a model named "--help" (with no server running, it would
    // fail to connect; it succeeds with the usage instead).
    for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{{"rm", "--help"}, {"rm", "stories", "-h"}, {"help", "rm"}}) {
        const Run r = run_rockllm(args);
        CAPTURE(r.err);
        CHECK(r.exit_code == 0);
        CHECK(r.out.rfind("Usage of rockllm rm:\n  rm ", 0) == 0);
        CHECK(r.err.empty());
    }
    const Run bench = run_rockllm({"bench", "--help"});
    CHECK(bench.exit_code == 0);
    CHECK(bench.out.find("--compare PATH/TO/llama-bench") != std::string::npos);
    CHECK(bench.out.find("  synth") == std::string::npos);  // its own lines only
    const Run unknown = run_rockllm({"help", "nope"});
    CHECK(unknown.exit_code == 1);
    CHECK(unknown.err.find("unknown command \"nope\"") != std::string::npos);
    const Run version = run_rockllm({"--version"});
    CHECK(version.exit_code == 0);
    CHECK(version.out.rfind("rockllm version is ", 0) == 0);
}

}  // namespace test_generate_command
