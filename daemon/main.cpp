// rockllm: an Ollama-compatible LLM server for RK3588 boards. This file only dispatches subcommands.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "daemon/command_line.h"
#include "daemon/bench_command.h"
#include "daemon/client_commands.h"
#include "daemon/generate_command.h"
#include "daemon/npu_command.h"
#include "daemon/serve_command.h"

namespace {

constexpr const char* kUsage = R"(Usage:
  rockllm [command]

Available Commands:
  serve       Start the Ollama-compatible server (also: start) [--backend auto|npu|cpu] (OLLAMA_HOST, OLLAMA_MODELS, OLLAMA_KEEP_ALIVE,
              OLLAMA_NUM_PARALLEL, OLLAMA_MAX_LOADED_MODELS, OLLAMA_MAX_QUEUE, OLLAMA_CONTEXT_LENGTH,
              ROCKLLM_MAX_MEMORY, ROCKLLM_BACKEND, ROCKLLM_NPU_DTYPE)
  run         Run a model: rockllm run MODEL [PROMPT] [--verbose] [--keepalive 5m] [--format json]
              [--think[=true|false|high|medium|low]] [--hidethinking] [--nowordwrap] [--truncate=false] [--dimensions N]
  pull        Pull a model from a registry: rockllm pull MODEL [--insecure]
  list        List models (also: ls)
  ps          List running models
  show        Show information for a model [--modelfile|--parameters|--template|--system|--license]
  create      Create a model from a Modelfile: rockllm create MODEL [-f Modelfile] [-q q4_K_M|q4_K_S|q8_0]
  cp          Copy a model: rockllm cp SOURCE DESTINATION
  rm          Remove models: rockllm rm MODEL...
  stop        Stop a running model: rockllm stop MODEL
  generate    Continue a prompt with a GGUF model file
              --model FILE.gguf --prompt TEXT [--num-predict N] [--temperature T] [--seed S] [--num-ctx N]
              [--threads N] [--top-k K] [--top-p P] [--min-p P] [--typical-p P] [--repeat-penalty R]
              [--repeat-last-n N] [--presence-penalty X] [--frequency-penalty X] [--stop TEXT]...
              [--backend auto|npu|cpu]
  bench       Measure prompt-processing and generation speed of a GGUF model (an embedding model:
              the speed of embedding texts of --prompt-tokens tokens)
              --model FILE.gguf [--prompt-tokens 128] [--gen-tokens 64] [--threads N[,N...]]
              [--repetitions 3] [--output table|json] [--kv-type F16|F32] [--backend auto|npu|cpu]
              [--history-tokens N] [--parallel N[,N...]] [--repack on|off] [--compare PATH/TO/llama-bench]
              [--format-vocab model|FILE.gguf[,...]]
  synth       Write a model with a real model's shape and random weights (for benchmarks)
              --shape NAME --type Q8_0|Q4_K_M|... --out FILE.gguf [--seed S]
  npu         The NPU: rockllm npu info | selftest [--report FILE] | stats (the server's counters) | decode FILE | accuracy MODEL [--prompt TEXT]
              (ROCKLLM_NPU_SIMULATE=rocket|rknpu simulates one)
  help        Help about any command: rockllm help COMMAND, rockllm COMMAND --help

Flags:
  -h, --help      help for rockllm
  -v, --version   Show version information
)";

// A command's lines of the usage (its line and the indented ones after it), or "" for none.
std::string command_usage(const std::string& command) {
    const std::string usage = kUsage;
    const std::string start = "\n  " + command + " ";
    size_t at = usage.find(start);
    if (at == std::string::npos) return "";
    std::string out;
    for (size_t line = at + 1; line < usage.size();) {
        const size_t end = usage.find('\n', line);
        const std::string text = usage.substr(line, end - line);
        if (!out.empty() && text.rfind("              ", 0) != 0) break;  // the next command
        out += text + "\n";
        line = end + 1;
    }
    return out;
}

bool asks_for_help(const std::vector<std::string>& args) {
    for (const std::string& a : args) {
        if (a == "--") return false;  // what follows is arguments, even "--help"
        if (a == "--help" || a == "-h") return true;
    }
    return false;
}

}  // namespace

int main(int argc, char** argv) {
    rockllm::preload_simulated_npu(argv);
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (!args.empty() && (args[0] == "--version" || args[0] == "-v")) {
        std::printf("rockllm version is %s\n", ROCKLLM_VERSION);
        return 0;
    }
    // "help COMMAND" and "COMMAND --help" print the command's usage and do nothing else (never,
    // say, remove a model named "--help").
    const bool help_command = !args.empty() && args[0] == "help" && args.size() > 1;
    if (help_command || (args.size() > 1 && asks_for_help(std::vector<std::string>(args.begin() + 1, args.end())))) {
        const std::string command = help_command ? args[1] : args[0];
        const std::string usage = command_usage(command == "ls" ? "list" : command == "start" ? "serve" : command);
        if (usage.empty()) {
            std::fprintf(stderr, "Error: unknown command \"%s\" for \"rockllm\"\n", command.c_str());
            return 1;
        }
        std::printf("Usage of rockllm %s:\n%s", command.c_str(), usage.c_str());
        return 0;
    }
    if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
        std::fputs(kUsage, stdout);  // as `ollama` with no arguments: the usage, and success
        return 0;
    }
    const std::string command = args[0];
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    try {
        if (command == "serve" || command == "start") return rockllm::run_serve_command(rest);  // start: Ollama's alias
        if (command == "generate") return rockllm::run_generate_command(rest);
        if (command == "bench") return rockllm::run_bench_command(rest);
        if (command == "synth") return rockllm::run_synth_command(rest);
        if (command == "npu") return rockllm::run_npu_command(rest);
        if (rockllm::is_client_command(command)) return rockllm::run_client_command(command, rest);
        std::fprintf(stderr, "Error: unknown command \"%s\" for \"rockllm\"\n\n%s", command.c_str(), kUsage);
        return 1;
    } catch (const rockllm::UsageError& e) {
        std::fprintf(stderr, "Error: %s\n", e.what());
        return 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "Error: %s\n", e.what());
        return 1;
    }
}
