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
#include "daemon/client_output.h"
#include "daemon/run_session.h"
#include "daemon/command_line.h"
#include "models/modelfile.h"
#include "models/sha256.h"

namespace rockllm {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {


int list_command(ApiClient& api) {
    print_model_list(api.get("/api/tags"));
    return 0;
}

int ps_command(ApiClient& api) {
    std::vector<std::vector<std::string>> rows = {{"NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL"}};
    const json running = api.get("/api/ps");
    for (const json& m : running.at("models"))
        rows.push_back({m.value("name", ""), m.value("digest", "").substr(0, 12), human_bytes(m.value("size", int64_t{0})), "100% CPU",
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
    print_model_info(info);
    return 0;
}

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
    // ADAPTER names a LoRA adapter GGUF, relative to the Modelfile; it is uploaded as the weights are.
    for (const std::string& adapter : modelfile.adapters) {
        fs::path path = adapter;
        if (path.is_relative()) path = modelfile_path.parent_path() / path;
        if (!fs::is_regular_file(path, ec)) throw UsageError("ADAPTER '" + adapter + "' is not a file");
        const std::string digest = "sha256:" + sha256_file_hex(path.string());
        if (!api.has_blob(digest)) api.upload_blob(digest, path.string());
        request["adapters"][path.filename().string()] = digest;
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
    api.stream("/api/create", request, [](const json& line) { std::fprintf(stderr, "%s\n", line.value("status", "").c_str()); },
               /*idle_seconds=*/24 * 3600);  // quantizing a large model takes long, and says nothing until done
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
