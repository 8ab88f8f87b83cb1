#include "daemon/client_commands.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include <unistd.h>

#include "daemon/api_client.h"
#include "daemon/command_line.h"
#include "models/modelfile.h"
#include "models/sha256.h"

namespace rockllm {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Ollama's HumanBytes: decimal units, whole numbers from 10 up.
std::string human_bytes(int64_t bytes) {
    const char* units[] = {"B", "KB", "MB", "GB", "TB"};
    double value = static_cast<double>(bytes);
    int unit = 0;
    while (value >= 1000 && unit < 4) {
        value /= 1000;
        ++unit;
    }
    char buffer[32];
    if (unit == 0 || value >= 10 || value == static_cast<int64_t>(value)) std::snprintf(buffer, sizeof buffer, "%d %s", static_cast<int>(value), units[unit]);
    else std::snprintf(buffer, sizeof buffer, "%.1f %s", value, units[unit]);
    return buffer;
}

// Seconds since the epoch of an RFC 3339 time ("2026-01-02T03:04:05.123Z", "+01:00" offsets too).
int64_t parse_time(const std::string& text) {
    std::tm tm{};
    if (text.size() < 19 || !strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return 0;
    int64_t seconds = timegm(&tm);
    const size_t zone = text.find_first_of("Z+-", 19);
    if (zone != std::string::npos && text[zone] != 'Z' && zone + 5 < text.size() + 1) {
        const int hours = std::stoi(text.substr(zone + 1, 2)), minutes = std::stoi(text.substr(zone + 4, 2));
        seconds -= (text[zone] == '+' ? 1 : -1) * (hours * 3600 + minutes * 60);
    }
    return seconds;
}

std::string plural(int64_t n, const char* unit) { return std::to_string(n) + " " + unit + (n == 1 ? "" : "s"); }

// "3 minutes ago", "4 minutes from now", as Ollama's HumanTime.
std::string human_time(int64_t when) {
    const int64_t now = std::time(nullptr);
    const int64_t d = when > now ? when - now : now - when;
    const char* suffix = when > now ? " from now" : " ago";
    if (when > now && d > 100LL * 365 * 86400) return "Forever";
    if (d < 1) return when > now ? "Less than a second from now" : "Less than a second ago";
    if (d < 60) return plural(d, "second") + suffix;
    if (d < 120) return std::string("About a minute") + suffix;
    if (d < 3600) return plural(d / 60, "minute") + suffix;
    if (d < 7200) return std::string("About an hour") + suffix;
    if (d < 86400 * 2) return plural(d / 3600, "hour") + suffix;
    if (d < 86400 * 14) return plural(d / 86400, "day") + suffix;
    if (d < 86400 * 60) return plural(d / (7 * 86400), "week") + suffix;
    if (d < 86400 * 730) return plural(d / (30 * 86400), "month") + suffix;
    return plural(d / (365 * 86400), "year") + suffix;
}

void print_table(const std::vector<std::vector<std::string>>& rows) {
    std::vector<size_t> width;
    for (const auto& row : rows)
        for (size_t i = 0; i < row.size(); ++i) {
            if (width.size() <= i) width.push_back(0);
            width[i] = std::max(width[i], row[i].size());
        }
    for (const auto& row : rows) {
        std::string line;
        for (size_t i = 0; i < row.size(); ++i) line += i + 1 < row.size() ? row[i] + std::string(width[i] - row[i].size() + 4, ' ') : row[i];
        std::printf("%s\n", line.c_str());
    }
}

std::string short_id(const json& model) { return model.value("digest", "").substr(0, 12); }

int list_command(ApiClient& api) {
    std::vector<std::vector<std::string>> rows = {{"NAME", "ID", "SIZE", "MODIFIED"}};
    const json tags = api.get("/api/tags");
    for (const json& m : tags.at("models"))
        rows.push_back({m.value("name", ""), short_id(m), human_bytes(m.value("size", int64_t{0})), human_time(parse_time(m.value("modified_at", "")))});
    print_table(rows);
    return 0;
}

int ps_command(ApiClient& api) {
    std::vector<std::vector<std::string>> rows = {{"NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL"}};
    const json running = api.get("/api/ps");
    for (const json& m : running.at("models"))
        rows.push_back({m.value("name", ""), short_id(m), human_bytes(m.value("size", int64_t{0})), "100% CPU",
                        std::to_string(m.value("context_length", 0)), human_time(parse_time(m.value("expires_at", "")))});
    print_table(rows);
    return 0;
}

int show_command(ApiClient& api, const std::vector<std::string>& args) {
    const CommandLine cl(args, {}, {"modelfile", "parameters", "template", "system", "license", "verbose"});
    if (cl.positional().size() != 1) throw UsageError("usage: rockllm show MODEL [--modelfile|--parameters|--template|--system|--license|--verbose]");
    const json info = api.post("/api/show", {{"model", cl.positional()[0]}, {"verbose", cl.has("verbose")}});
    for (const char* field : {"modelfile", "parameters", "template", "system", "license"})
        if (cl.has(field)) {
            std::printf("%s\n", info.value(field, "").c_str());
            return 0;
        }
    const json mi = info.value("model_info", json::object());
    const std::string arch = mi.value("general.architecture", "");
    std::vector<std::vector<std::string>> model = {{"    architecture", arch}, {"    parameters", info["details"].value("parameter_size", "")}};
    if (mi.contains(arch + ".context_length")) model.push_back({"    context length", mi[arch + ".context_length"].dump()});
    if (mi.contains(arch + ".embedding_length")) model.push_back({"    embedding length", mi[arch + ".embedding_length"].dump()});
    model.push_back({"    quantization", info["details"].value("quantization_level", "")});
    std::printf("  Model\n");
    print_table(model);
    std::printf("\n  Capabilities\n");
    for (const json& c : info.value("capabilities", json::array())) std::printf("    %s\n", c.get<std::string>().c_str());
    auto section = [](const char* title, const std::string& text) {
        if (text.empty()) return;
        std::printf("\n  %s\n", title);
        std::istringstream lines(text);
        for (std::string line; std::getline(lines, line);) std::printf("    %s\n", line.c_str());
    };
    section("Parameters", info.value("parameters", ""));
    section("System", info.value("system", ""));
    section("License", info.value("license", ""));
    std::printf("\n");
    return 0;
}

// Pull progress: one line per layer, redrawn in place on a terminal.
class PullProgress {
public:
    void operator()(const json& line) {
        const std::string status = line.value("status", "");
        if (line.contains("digest")) {
            const int64_t total = line.value("total", int64_t{0}), completed = line.value("completed", int64_t{0});
            const int percent = total > 0 ? static_cast<int>(100 * completed / total) : 0;
            char buffer[256];
            std::snprintf(buffer, sizeof buffer, "%s: %3d%% %s/%s", status.c_str(), percent, human_bytes(completed).c_str(), human_bytes(total).c_str());
            if (tty_) {
                std::fprintf(stderr, "\r%s\033[K", buffer);
                open_line_ = true;
                if (completed >= total) end_line();
            } else if (completed >= total && status != last_) {
                std::fprintf(stderr, "%s\n", buffer);
                last_ = status;
            }
            return;
        }
        end_line();
        if (status != last_) std::fprintf(stderr, "%s\n", status.c_str());
        last_ = status;
    }
    ~PullProgress() { end_line(); }

private:
    void end_line() {
        if (open_line_) std::fputc('\n', stderr);
        open_line_ = false;
    }
    bool tty_ = isatty(STDERR_FILENO);
    bool open_line_ = false;
    std::string last_;
};

int pull_command(ApiClient& api, const std::vector<std::string>& args) {
    const CommandLine cl(args, {}, {"insecure"});
    if (cl.positional().size() != 1) throw UsageError("usage: rockllm pull MODEL [--insecure]");
    PullProgress progress;
    api.stream("/api/pull", {{"model", cl.positional()[0]}, {"insecure", cl.has("insecure")}, {"stream", true}}, std::ref(progress));
    return 0;
}

int create_command(ApiClient& api, const std::vector<std::string>& raw_args) {
    std::vector<std::string> args;
    for (const std::string& a : raw_args) args.push_back(a == "-f" ? "--file" : a == "-q" ? "--quantize" : a);
    const CommandLine cl(args, {"file", "quantize"});
    if (cl.positional().size() != 1) throw UsageError("usage: rockllm create MODEL [-f Modelfile] [-q q4_K_M|q4_K_S|q8_0]");
    const fs::path modelfile_path = cl.get("file").value_or("Modelfile");
    std::ifstream in(modelfile_path);
    if (!in) throw UsageError("cannot read '" + modelfile_path.string() + "'");
    std::ostringstream text;
    text << in.rdbuf();
    const Modelfile modelfile = parse_modelfile(text.str());
    if (!modelfile.adapters.empty()) throw UsageError("ADAPTER is not supported yet");

    json request = {{"model", cl.positional()[0]}, {"stream", true}};
    if (const auto quantize = cl.get("quantize")) request["quantize"] = *quantize;
    // FROM names a GGUF file (relative to the Modelfile) or a model.
    fs::path from = modelfile.from;
    if (from.string().rfind("~/", 0) == 0 && std::getenv("HOME")) from = fs::path(std::getenv("HOME")) / from.string().substr(2);
    if (from.is_relative()) from = modelfile_path.parent_path() / from;
    std::error_code ec;
    if (fs::is_regular_file(from, ec)) {
        std::fprintf(stderr, "gathering model components\n");
        const std::string digest = "sha256:" + sha256_file_hex(from.string());
        if (!api.has_blob(digest)) {
            std::fprintf(stderr, "copying file %s 100%%\n", digest.c_str());
            api.upload_blob(digest, from.string());
        }
        request["files"] = {{from.filename().string(), digest}};
    } else {
        request["from"] = modelfile.from;
    }
    if (modelfile.template_text) request["template"] = *modelfile.template_text;
    if (modelfile.system) request["system"] = *modelfile.system;
    if (!modelfile.licenses.empty()) request["license"] = modelfile.licenses;
    if (!modelfile.parameters.empty()) request["parameters"] = parameters_to_json(modelfile.parameters);
    if (!modelfile.messages.empty()) {
        json messages = json::array();
        for (const auto& [role, content] : modelfile.messages) messages.push_back({{"role", role}, {"content", content}});
        request["messages"] = messages;
    }
    api.stream("/api/create", request, [](const json& line) { std::fprintf(stderr, "%s\n", line.value("status", "").c_str()); });
    return 0;
}

std::string read_all_stdin() {
    std::ostringstream s;
    s << std::cin.rdbuf();
    return s.str();
}

// Pulls a model the server does not have, as `ollama run` does.
void ensure_model(ApiClient& api, const std::string& model, bool insecure) {
    try {
        api.post("/api/show", {{"model", model}});
    } catch (const ClientError& e) {
        if (e.status != 404) throw;
        PullProgress progress;
        api.stream("/api/pull", {{"model", model}, {"insecure", insecure}, {"stream", true}}, std::ref(progress));
    }
}

// Sends the conversation and prints the answer as it streams; returns the answer.
std::string chat_turn(ApiClient& api, const std::string& model, const json& messages, const json& keep_alive, bool verbose) {
    json request = {{"model", model}, {"messages", messages}, {"stream", true}};
    if (!keep_alive.is_null()) request["keep_alive"] = keep_alive;
    std::string answer;
    json last;
    api.stream("/api/chat", request, [&](const json& line) {
        const std::string piece = line.contains("message") ? line["message"].value("content", "") : "";
        std::fwrite(piece.data(), 1, piece.size(), stdout);
        std::fflush(stdout);
        answer += piece;
        last = line;
    });
    std::printf("\n");
    if (verbose && last.is_object()) {
        auto seconds = [&](const char* key) { return static_cast<double>(last.value(key, int64_t{0})) / 1e9; };
        std::fprintf(stderr, "total duration:       %.3fs\nload duration:        %.3fs\n", seconds("total_duration"), seconds("load_duration"));
        std::fprintf(stderr, "prompt eval count:    %lld token(s)\nprompt eval rate:     %.2f tokens/s\n",
                     static_cast<long long>(last.value("prompt_eval_count", 0)),
                     last.value("prompt_eval_count", 0) / std::max(1e-9, seconds("prompt_eval_duration")));
        std::fprintf(stderr, "eval count:           %lld token(s)\neval rate:            %.2f tokens/s\n",
                     static_cast<long long>(last.value("eval_count", 0)), last.value("eval_count", 0) / std::max(1e-9, seconds("eval_duration")));
    }
    return answer;
}

int run_command(ApiClient& api, const std::vector<std::string>& args) {
    const CommandLine cl(args, {"keepalive"}, {"verbose", "insecure"});
    if (cl.positional().empty()) throw UsageError("usage: rockllm run MODEL [PROMPT] [--verbose] [--keepalive DURATION]");
    const std::string model = cl.positional()[0];
    const json keep_alive = cl.get("keepalive") ? json(*cl.get("keepalive")) : json();
    std::string prompt;
    for (size_t i = 1; i < cl.positional().size(); ++i) prompt += (prompt.empty() ? "" : " ") + cl.positional()[i];
    ensure_model(api, model, cl.has("insecure"));

    const bool interactive = prompt.empty() && isatty(STDIN_FILENO);
    if (!interactive) {
        if (!isatty(STDIN_FILENO)) {
            const std::string input = read_all_stdin();
            if (!input.empty()) prompt = prompt.empty() ? input : input + " " + prompt;  // piped text first, as ollama does
        }
        chat_turn(api, model, json::array({{{"role", "user"}, {"content", prompt}}}), keep_alive, cl.has("verbose"));
        return 0;
    }

    json load = {{"model", model}};
    if (!keep_alive.is_null()) load["keep_alive"] = keep_alive;
    api.post("/api/generate", load);
    json messages = json::array();
    std::fprintf(stderr, "Send a message (/? for help)\n");
    for (;;) {
        std::fprintf(stderr, ">>> ");
        std::string line;
        if (!std::getline(std::cin, line)) break;
        if (line == "\"\"\"" || line.rfind("\"\"\"", 0) == 0) {  // multi-line input between """ marks
            std::string block = line.substr(3), more;
            while (block.find("\"\"\"") == std::string::npos && std::getline(std::cin, more)) block += "\n" + more;
            line = block.substr(0, block.find("\"\"\""));
        }
        if (line == "/bye" || line == "/exit") break;
        if (line == "/clear") {
            messages = json::array();
            std::fprintf(stderr, "Cleared session context\n");
            continue;
        }
        if (line == "/?" || line == "/help") {
            std::fprintf(stderr, "Available Commands:\n  /clear   Clear session context\n  /bye     Exit\n  /?       Help\n\n"
                                 "Use \"\"\" to begin a multi-line message.\n");
            continue;
        }
        if (line.empty()) continue;
        messages.push_back({{"role", "user"}, {"content", line}});
        const std::string answer = chat_turn(api, model, messages, keep_alive, cl.has("verbose"));
        messages.push_back({{"role", "assistant"}, {"content", answer}});
    }
    return 0;
}

}  // namespace

bool is_client_command(const std::string& name) {
    static const char* const names[] = {"run", "pull", "list", "ls", "ps", "show", "rm", "cp", "create", "stop"};
    return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

int run_client_command(const std::string& name, const std::vector<std::string>& args) {
    ApiClient api;
    try {
        if (name == "list" || name == "ls") return list_command(api);
        if (name == "ps") return ps_command(api);
        if (name == "show") return show_command(api, args);
        if (name == "pull") return pull_command(api, args);
        if (name == "create") return create_command(api, args);
        if (name == "run") return run_command(api, args);
        if (name == "rm") {
            if (args.empty()) throw UsageError("usage: rockllm rm MODEL [MODEL...]");
            for (const std::string& model : args) {
                api.del("/api/delete", {{"model", model}});
                std::printf("deleted '%s'\n", model.c_str());
            }
            return 0;
        }
        if (name == "cp") {
            if (args.size() != 2) throw UsageError("usage: rockllm cp SOURCE DESTINATION");
            api.post("/api/copy", {{"source", args[0]}, {"destination", args[1]}});
            std::printf("copied '%s' to '%s'\n", args[0].c_str(), args[1].c_str());
            return 0;
        }
        if (name == "stop") {
            if (args.size() != 1) throw UsageError("usage: rockllm stop MODEL");
            api.post("/api/generate", {{"model", args[0]}, {"keep_alive", 0}});
            return 0;
        }
    } catch (const ClientError& e) {
        std::fprintf(stderr, "Error: %s\n", e.what());
        return 1;
    } catch (const ModelfileError& e) {
        std::fprintf(stderr, "Error: %s\n", e.what());
        return 1;
    }
    throw UsageError("unknown command " + name);
}

}  // namespace rockllm
