#include "daemon/run_session.h"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <sstream>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "daemon/api_client.h"
#include "daemon/client_output.h"
#include "daemon/command_line.h"
#include "models/modelfile.h"

namespace rockllm {

using nlohmann::json;

namespace {

// What a session sends with each turn; /set and /load change it.
struct RunOptions {
    std::string model;
    std::string system;  // set in the session; the model's own SYSTEM applies otherwise
    json messages = json::array();
    json options = json::object();  // /set parameter
    std::string format;             // "" or "json"
    json think;                     // null: the model's default; true, false or a level
    bool hide_thinking = false;
    bool verbose = false;
    bool word_wrap = true;  // accepted for Ollama's flags; answers are printed as they come
    json keep_alive;
};

void print(const std::string& text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
}

json think_value(const std::string& value) {
    if (value.empty() || value == "true") return true;
    if (value == "false") return false;
    if (value == "high" || value == "medium" || value == "low" || value == "max") return value;
    throw UsageError("invalid value for --think: \"" + value + "\" (must be true, false, high, medium, low, or max)");
}

// Ollama's Metrics.Summary, on stderr.
void print_summary(const json& last) {
    const auto count = [&](const char* key) { return last.value(key, int64_t{0}); };
    const auto rate = [](int64_t tokens, int64_t ns) { return static_cast<double>(tokens) / (static_cast<double>(ns) / 1e9); };
    if (count("total_duration") > 0) std::fprintf(stderr, "total duration:       %s\n", go_duration(count("total_duration")).c_str());
    if (count("load_duration") > 0) std::fprintf(stderr, "load duration:        %s\n", go_duration(count("load_duration")).c_str());
    if (count("prompt_eval_count") > 0) std::fprintf(stderr, "prompt eval count:    %lld token(s)\n", static_cast<long long>(count("prompt_eval_count")));
    if (count("prompt_eval_duration") > 0) {
        std::fprintf(stderr, "prompt eval duration: %s\n", go_duration(count("prompt_eval_duration")).c_str());
        std::fprintf(stderr, "prompt eval rate:     %.2f tokens/s\n", rate(count("prompt_eval_count"), count("prompt_eval_duration")));
    }
    if (count("eval_count") > 0) std::fprintf(stderr, "eval count:           %lld token(s)\n", static_cast<long long>(count("eval_count")));
    if (count("eval_duration") > 0) {
        std::fprintf(stderr, "eval duration:        %s\n", go_duration(count("eval_duration")).c_str());
        std::fprintf(stderr, "eval rate:            %.2f tokens/s\n", rate(count("eval_count"), count("eval_duration")));
    }
}

// One turn: the conversation goes out, the answer is printed as it streams (its thinking between
// "Thinking..." and "...done thinking." unless hidden); returns the assistant message.
json chat_turn(ApiClient& api, const RunOptions& o) {
    json request = {{"model", o.model}, {"messages", o.messages}, {"stream", true}};
    if (!o.options.empty()) request["options"] = o.options;
    if (!o.format.empty()) request["format"] = o.format;
    if (!o.think.is_null()) request["think"] = o.think;
    if (!o.keep_alive.is_null()) request["keep_alive"] = o.keep_alive;
    std::string content, thinking;
    bool thinking_shown = false;
    json last;
    const auto end_thinking = [&] {
        if (!thinking_shown) return;
        if (!thinking.empty() && thinking.back() != '\n') print("\n");
        print("...done thinking.\n\n");
        thinking_shown = false;
    };
    api.stream("/api/chat", request, [&](const json& line) {
        const json message = line.value("message", json::object());
        const std::string t = message.value("thinking", ""), c = message.value("content", "");
        if (!t.empty() && !o.hide_thinking) {
            if (!thinking_shown && thinking.empty()) print("Thinking...\n");
            thinking_shown = true;
            print(t);
        }
        thinking += t;
        if (!c.empty() || message.contains("tool_calls")) end_thinking();
        print(c);
        content += c;
        last = line;
    });
    end_thinking();
    print("\n");
    if (o.verbose && last.is_object()) print_summary(last);
    return {{"role", "assistant"}, {"content", content}};
}

// Pulls a model the server does not have, as `ollama run` does; returns its /api/show answer.
json ensure_model(ApiClient& api, const std::string& model, bool insecure) {
    try {
        return api.post("/api/show", {{"model", model}});
    } catch (const ClientError& e) {
        if (e.status != 404) throw;
    }
    PullProgress progress;
    api.stream("/api/pull", {{"model", model}, {"insecure", insecure}, {"stream", true}}, std::ref(progress));
    return api.post("/api/show", {{"model", model}});
}

std::string read_all_stdin() {
    std::ostringstream s;
    s << std::cin.rdbuf();
    return s.str();
}

void usage() {
    std::fprintf(stderr,
                 "Available Commands:\n"
                 "  /set            Set session variables\n"
                 "  /show           Show model information\n"
                 "  /load <model>   Load a session or model\n"
                 "  /save <model>   Save your current session\n"
                 "  /clear          Clear session context\n"
                 "  /list           List the models\n"
                 "  /bye            Exit\n"
                 "  /?, /help       Help for a command\n"
                 "  /? shortcuts    Help for keyboard shortcuts\n\n"
                 "Use \"\"\" to begin a multi-line message.\n\n");
}

void usage_set() {
    std::fprintf(stderr,
                 "Available Commands:\n"
                 "  /set parameter ...     Set a parameter\n"
                 "  /set system <string>   Set system message\n"
                 "  /set history           Enable history\n"
                 "  /set nohistory         Disable history\n"
                 "  /set wordwrap          Enable wordwrap\n"
                 "  /set nowordwrap        Disable wordwrap\n"
                 "  /set format json       Enable JSON mode\n"
                 "  /set noformat          Disable formatting\n"
                 "  /set verbose           Show LLM stats\n"
                 "  /set quiet             Disable LLM stats\n"
                 "  /set think             Enable thinking\n"
                 "  /set nothink           Disable thinking\n\n");
}

void usage_show() {
    std::fprintf(stderr,
                 "Available Commands:\n"
                 "  /show info         Show details for this model\n"
                 "  /show license      Show model license\n"
                 "  /show modelfile    Show Modelfile for this model\n"
                 "  /show parameters   Show parameters for this model\n"
                 "  /show system       Show system message\n"
                 "  /show template     Show prompt template\n\n");
}

void usage_shortcuts() {
    std::fprintf(stderr,
                 "Available keyboard shortcuts:\n"
                 "  Ctrl + d            Exit (/bye)\n"
                 "  Ctrl + c            Stop the model from responding, or exit\n\n"
                 "Lines are read as typed (no line editing): use \"\"\" for multi-line messages.\n\n");
}

void usage_parameters() {
    std::fprintf(stderr,
                 "Available Parameters:\n"
                 "  /set parameter seed <int>             Random number seed\n"
                 "  /set parameter num_predict <int>      Max number of tokens to predict\n"
                 "  /set parameter top_k <int>            Pick from top k num of tokens\n"
                 "  /set parameter top_p <float>          Pick token based on sum of probabilities\n"
                 "  /set parameter min_p <float>          Pick token based on top token probability * min_p\n"
                 "  /set parameter num_ctx <int>          Set the context size\n"
                 "  /set parameter temperature <float>    Set creativity level\n"
                 "  /set parameter repeat_penalty <float> How strongly to penalize repetitions\n"
                 "  /set parameter repeat_last_n <int>    Set how far back to look for repetitions\n"
                 "  /set parameter stop <string> <string> ...   Set the stop parameters\n\n");
}

std::vector<std::string> words(const std::string& line) {
    std::istringstream in(line);
    std::vector<std::string> out;
    for (std::string w; in >> w;) out.push_back(w);
    return out;
}

std::string joined(const std::vector<std::string>& parts, size_t from, const char* separator) {
    std::string out;
    for (size_t i = from; i < parts.size(); ++i) out += (i > from ? separator : "") + parts[i];
    return out;
}

// The system message of the session: replaces a system message at the end, else goes last.
void set_system(RunOptions& o, const std::string& text) {
    o.system = text;
    const json message = {{"role", "system"}, {"content", text}};
    if (!o.messages.empty() && o.messages.back().value("role", "") == "system") o.messages.back() = message;
    else o.messages.push_back(message);
    std::printf("Set system message.\n");
}

void set_command(RunOptions& o, const std::vector<std::string>& args, const std::string& line) {
    if (args.size() < 2) return usage_set();
    const std::string& what = args[1];
    if (what == "history" || what == "nohistory") return;  // lines are not kept in any case
    if (what == "wordwrap" || what == "nowordwrap") {
        o.word_wrap = what == "wordwrap";
        std::printf("Set '%s' mode.\n", what.c_str());
    } else if (what == "verbose" || what == "quiet") {
        o.verbose = what == "verbose";
        std::printf("Set '%s' mode.\n", what.c_str());
    } else if (what == "think") {
        o.think = args.size() > 2 ? json(args[2]) : json(true);
        if (args.size() > 2) std::printf("Set 'think' mode to '%s'.\n", args[2].c_str());
        else std::printf("Set 'think' mode.\n");
    } else if (what == "nothink") {
        o.think = false;
        std::printf("Set 'nothink' mode.\n");
    } else if (what == "format") {
        if (args.size() < 3 || args[2] != "json") {
            std::printf("Invalid or missing format. For 'json' mode use '/set format json'\n");
            return;
        }
        o.format = "json";
        std::printf("Set format to 'json' mode.\n");
    } else if (what == "noformat") {
        o.format.clear();
        std::printf("Disabled format.\n");
    } else if (what == "parameter") {
        if (args.size() < 4) return usage_parameters();
        std::vector<std::pair<std::string, std::string>> values;
        for (size_t i = 3; i < args.size(); ++i) values.emplace_back(args[2], args[i]);
        try {
            const json typed = parameters_to_json(values);
            o.options[args[2]] = typed.at(args[2]);
            std::printf("Set parameter '%s' to '%s'\n", args[2].c_str(), joined(args, 3, ", ").c_str());
        } catch (const ModelfileError& e) {
            std::printf("Couldn't set parameter: \"%s\"\n", e.what());
        }
    } else if (what == "system") {
        if (args.size() < 3) return usage_set();
        // The text after "/set system ", as typed (a """ block is gathered by the caller).
        const size_t at = line.find("system") + 6;
        set_system(o, line.substr(line.find_first_not_of(' ', at)));
    } else {
        std::printf("Unknown command '/set %s'. Type /? for help\n", what.c_str());
    }
}

void show_command(ApiClient& api, const RunOptions& o, const std::vector<std::string>& args) {
    if (args.size() < 2) return usage_show();
    const json info = api.post("/api/show", {{"model", o.model}});
    const std::string& what = args[1];
    if (what == "info") {
        print_model_info(info);
    } else if (what == "license") {
        const std::string license = info.value("license", "");
        std::printf("%s\n", license.empty() ? "No license was specified for this model." : license.c_str());
    } else if (what == "modelfile") {
        std::printf("%s\n", info.value("modelfile", "").c_str());
    } else if (what == "parameters") {
        std::printf("Model defined parameters:\n");
        const std::string parameters = info.value("parameters", "");
        if (parameters.empty()) std::printf("  No additional parameters were specified for this model.\n");
        std::istringstream lines(parameters);
        for (std::string l; std::getline(lines, l);) std::printf("  %s\n", l.c_str());
        std::printf("\n");
        if (!o.options.empty()) {
            std::printf("User defined parameters:\n");
            for (const auto& [key, value] : o.options.items()) std::printf("  %-30s %s\n", key.c_str(), value.dump().c_str());
            std::printf("\n");
        }
    } else if (what == "system") {
        const std::string system = !o.system.empty() ? o.system : info.value("system", "");
        if (system.empty()) std::printf("No system message was specified for this model.\n");
        else std::printf("%s\n\n", system.c_str());
    } else if (what == "template") {
        const std::string tmpl = info.value("template", "");
        std::printf("%s\n", tmpl.empty() ? "No prompt template was specified for this model." : tmpl.c_str());
    } else {
        std::printf("Unknown command '/show %s'. Type /? for help\n", what.c_str());
    }
}

// /save: the session as a new model on top of the current one (its messages, system, parameters).
void save_session(ApiClient& api, const RunOptions& o, const std::string& name) {
    json request = {{"model", name}, {"from", o.model}, {"stream", false}};
    json messages = json::array();
    for (const json& m : o.messages)
        if (m.value("role", "") != "system") messages.push_back(m);
    if (!messages.empty()) request["messages"] = messages;
    if (!o.system.empty()) request["system"] = o.system;
    if (!o.options.empty()) request["parameters"] = o.options;
    try {
        api.post("/api/create", request);
        std::printf("Created new model '%s'\n", name.c_str());
    } catch (const ClientError& e) {
        if (std::string(e.what()) == "invalid model name") std::printf("error: The model name '%s' is invalid\n", name.c_str());
        else throw;
    }
}

// /load: another model (the conversation starts over); false when it is not there.
bool load_model(ApiClient& api, RunOptions& o, const std::string& name) {
    std::printf("Loading model '%s'\n", name.c_str());
    try {
        api.post("/api/show", {{"model", name}});
        json load = {{"model", name}};
        if (!o.keep_alive.is_null()) load["keep_alive"] = o.keep_alive;
        api.post("/api/generate", load);
    } catch (const ClientError& e) {
        if (e.status != 404) throw;
        std::printf("Couldn't find model '%s'\n", name.c_str());
        return false;
    }
    o.model = name;
    o.messages = json::array();
    o.system.clear();
    return true;
}

// Reads one message or command: a """ block spans lines until the line that ends it.
bool read_input(std::string& out) {
    std::fprintf(stderr, ">>> ");
    std::string line;
    if (!std::getline(std::cin, line)) return false;
    const size_t open = line.find("\"\"\"");
    const bool starts_block = line.rfind("\"\"\"", 0) == 0 || (line.rfind("/set system ", 0) == 0 && open != std::string::npos);
    if (starts_block) {
        std::string block = line;
        const auto closed = [&] { return block.find("\"\"\"", open + 3) != std::string::npos; };
        for (std::string more; !closed() && (std::fprintf(stderr, "... "), std::getline(std::cin, more));) block += "\n" + more;
        const size_t close = block.find("\"\"\"", open + 3);
        line = block.substr(0, open) + block.substr(open + 3, close == std::string::npos ? std::string::npos : close - open - 3);
    }
    out = line;
    return true;
}

void interactive(ApiClient& api, RunOptions& o) {
    std::fprintf(stderr, "Send a message (/? for help)\n");
    for (std::string line; read_input(line);) {
        const std::vector<std::string> args = words(line);
        if (args.empty()) continue;
        const std::string& command = args[0];
        if (command == "/bye" || command == "/exit") break;
        if (command == "/clear") {
            o.messages = json::array();
            if (!o.system.empty()) o.messages.push_back({{"role", "system"}, {"content", o.system}});
            std::printf("Cleared session context\n");
        } else if (command == "/set") {
            set_command(o, args, line);
        } else if (command == "/show") {
            show_command(api, o, args);
        } else if (command == "/load") {
            if (args.size() != 2) std::printf("Usage:\n  /load <modelname>\n");
            else load_model(api, o, args[1]);
        } else if (command == "/save") {
            if (args.size() != 2) std::printf("Usage:\n  /save <modelname>\n");
            else save_session(api, o, args[1]);
        } else if (command == "/list") {
            print_model_list(api.get("/api/tags"));
        } else if (command == "/?" || command == "/help") {
            const std::string topic = args.size() > 1 ? args[1] : "";
            if (topic == "set" || topic == "/set") usage_set();
            else if (topic == "show" || topic == "/show") usage_show();
            else if (topic == "shortcut" || topic == "shortcuts") usage_shortcuts();
            else usage();
        } else if (command[0] == '/') {
            std::printf("Unknown command '%s'. Type /? for help\n", command.c_str());
        } else {
            o.messages.push_back({{"role", "user"}, {"content", line}});
            try {
                o.messages.push_back(chat_turn(api, o));
            } catch (const ClientError& e) {
                const std::string what = e.what();
                if (what.find("does not support thinking") == std::string::npos && what.find("invalid think value") == std::string::npos) throw;
                std::printf("error: %s\n", what.c_str());
                o.messages.erase(o.messages.size() - 1);
            }
        }
    }
}

}  // namespace

int run_command(ApiClient& api, const std::vector<std::string>& raw_args) {
    std::vector<std::string> args;  // --think alone means --think=true, as Ollama's flag
    for (const std::string& a : raw_args) args.push_back(a == "--think" ? "--think=true" : a);
    const CommandLine cl(args, {"keepalive", "format", "think", "dimensions", "truncate"}, {"verbose", "insecure", "hidethinking", "nowordwrap"});
    if (cl.positional().empty())
        throw UsageError("usage: rockllm run MODEL [PROMPT] [--format json] [--think[=true|false|high|medium|low]] [--hidethinking] "
                         "[--verbose] [--keepalive DURATION] [--nowordwrap] [--truncate=false] [--dimensions N]");
    RunOptions o;
    o.model = cl.positional()[0];
    o.keep_alive = cl.get("keepalive") ? json(*cl.get("keepalive")) : json();
    o.format = cl.get("format").value_or("");
    if (!o.format.empty() && o.format != "json") throw UsageError("invalid format: \"" + o.format + "\" (only json is supported)");
    if (const auto think = cl.get("think")) o.think = think_value(*think);
    o.hide_thinking = cl.has("hidethinking");
    o.verbose = cl.has("verbose");
    o.word_wrap = !cl.has("nowordwrap");
    std::string prompt;
    for (size_t i = 1; i < cl.positional().size(); ++i) prompt += (prompt.empty() ? "" : " ") + cl.positional()[i];
    const json info = ensure_model(api, o.model, cl.has("insecure"));

    const bool interactive_session = prompt.empty() && isatty(STDIN_FILENO);
    if (!isatty(STDIN_FILENO)) {
        const std::string input = read_all_stdin();
        if (!input.empty()) prompt = prompt.empty() ? input : input + " " + prompt;  // piped text first, as ollama does
    }
    const json capabilities = info.value("capabilities", json::array());
    if (std::find(capabilities.begin(), capabilities.end(), "embedding") != capabilities.end()) {
        if (prompt.empty()) throw UsageError("embedding models require input text. Usage: rockllm run " + o.model + " \"text\"");
        json request = {{"model", o.model}, {"input", prompt}};
        if (!o.keep_alive.is_null()) request["keep_alive"] = o.keep_alive;
        if (const auto truncate = cl.get("truncate")) request["truncate"] = *truncate != "false";
        if (const int64_t dimensions = cl.get_int("dimensions", 0); dimensions > 0) request["dimensions"] = dimensions;
        const json answer = api.post("/api/embed", request);
        const json embeddings = answer.value("embeddings", json::array());
        if (embeddings.empty()) throw ClientError(0, "no embeddings returned");
        std::printf("%s\n", embeddings[0].dump().c_str());
        return 0;
    }
    if (!interactive_session) {
        o.messages.push_back({{"role", "user"}, {"content", prompt}});
        chat_turn(api, o);
        return 0;
    }
    json load = {{"model", o.model}};
    if (!o.keep_alive.is_null()) load["keep_alive"] = o.keep_alive;
    api.post("/api/generate", load);
    interactive(api, o);
    return 0;
}

}  // namespace rockllm
