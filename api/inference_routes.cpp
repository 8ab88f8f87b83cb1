// Inference: /api/generate (with load and unload), /api/embed, /api/embeddings.
#include <chrono>
#include <cmath>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "base/elapsed.h"
#include "api/http_json.h"
#include "api/inference.h"
#include "api/server_context.h"

namespace rockllm {

using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;

json generate_final_chunk(const std::string& model, int64_t load_ns, const GenerationStats& stats,
                          const std::string& response, bool with_context, int64_t total_ns) {
    json j = {{"model", model},       {"created_at", rfc3339_now()}, {"response", response},
              {"done", true},         {"done_reason", stats.done_reason}};
    if (with_context) j["context"] = stats.context;
    add_metrics(j, stats, load_ns, total_ns);
    return j;
}

// An empty prompt or conversation: load the model, or with keep_alive 0 unload it (checked before
// loading, as Ollama does); the answer is the given chunk, done, with done_reason load/unload.
json load_or_unload(ServerContext& context, const StoredModel& stored, const std::optional<KeepAlive>& keep_alive, json answer) {
    answer["done"] = true;
    if (keep_alive && keep_alive->is_zero()) {
        context.scheduler.unload(stored.name);
        answer["done_reason"] = "unload";
    } else {
        acquire_model(context, stored, keep_alive);  // loads; the lease ends at once
        answer["done_reason"] = "load";
    }
    return answer;
}

void generate(ServerContext& context, const httplib::Request& req, httplib::Response& res) {
    const auto start = Clock::now();
    const json body = parse_body(req);
    const std::string model_text = model_field(body);
    if (model_text.empty()) throw HttpError(404, "model '' not found");
    const StoredModel stored = context.find_model(model_text);
    const std::string prompt = string_field(body, "prompt");
    const bool raw = bool_field(body, "raw", false);
    const bool stream = bool_field(body, "stream", true);
    const std::optional<KeepAlive> keep_alive = keep_alive_from_json(body);
    if (raw && (body.contains("template") || body.contains("system") || body.contains("context")))
        throw HttpError(400, "raw mode does not support template, system, or context");
    const std::string display = stored.name.display();

    if (prompt.empty()) {
        send_json(res, 200, load_or_unload(context, stored, keep_alive, {{"model", display}, {"created_at", rfc3339_now()}, {"response", ""}}));
        return;
    }

    if (body.contains("images") && body["images"].is_array() && !body["images"].empty())
        throw HttpError(400, "images are not supported: rockllm runs text models only");
    const std::shared_ptr<const Grammar> format = request_format(req);
    ThinkSetting think = parse_think(body);
    std::shared_ptr<Scheduler::Lease> lease = acquire_model(context, stored, keep_alive);
    LoadedModel& model = lease->model();
    if (model.is_embedding_model()) throw HttpError(400, "\"" + model_text + "\" does not support generate");
    // As on /api/chat: a templated prompt of a model that can think thinks unless told otherwise,
    // and the reasoning goes to "thinking", never into "response".
    if (!raw && !format) enable_default_thinking(model, think);
    GenerationRequest request = generation_request(model, raw ? prompt : templated_prompt(model, display, body, think),
                                                   body.value("options", json::object()));
    request.format = format;
    const bool split_thinking = !raw && think.enabled;
    auto parser = output_parser_for(model, request.prompt, split_thinking ? think : ThinkSetting{}, /*tools=*/false);

    if (!stream) {
        const auto [text, stats] = collect_generation(*lease, request);
        const OutputDelta all = parser->parse_all(text);
        json answer = generate_final_chunk(display, lease->load_duration_ns(), stats, all.content, !raw, ns_since(start));
        if (!all.thinking.empty()) answer["thinking"] = all.thinking;
        send_json(res, 200, answer);
        return;
    }
    auto chunk = [display](const OutputDelta& d) {
        json j = {{"model", display}, {"created_at", rfc3339_now()}, {"response", d.content}, {"done", false}};
        if (!d.thinking.empty()) j["thinking"] = d.thinking;
        return ndjson(j);
    };
    stream_generation(res, lease, request, display,
                      {"application/x-ndjson", "/api/generate",
                       [parser, chunk](const std::string& piece) {
                           const OutputDelta d = parser->push(piece);
                           return d.content.empty() && d.thinking.empty() ? std::string() : chunk(d);
                       },
                       [parser, chunk, display, load_ns = lease->load_duration_ns(), raw, start](const GenerationStats& stats) {
                           const OutputDelta d = parser->finish();
                           std::string out = d.content.empty() && d.thinking.empty() ? std::string() : chunk(d);
                           return out + ndjson(generate_final_chunk(display, load_ns, stats, "", !raw, ns_since(start)));
                       },
                       [](const std::string& error) { return ndjson({{"error", error}}); }});
}

json chat_final_chunk(const std::string& model, int64_t load_ns, const GenerationStats& stats,
                      const std::string& content, int64_t total_ns) {
    json j = {{"model", model}, {"created_at", rfc3339_now()}, {"message", {{"role", "assistant"}, {"content", content}}},
              {"done", true}, {"done_reason", stats.done_reason}};
    add_metrics(j, stats, load_ns, total_ns);
    return j;
}

void chat(ServerContext& context, const httplib::Request& req, httplib::Response& res) {
    const auto start = Clock::now();
    const json body = parse_body(req);
    const std::string model_text = model_field(body);
    if (model_text.empty()) throw HttpError(400, "model is required");
    const StoredModel stored = context.find_model(model_text);
    const std::vector<ChatMessage> messages = parse_messages(body.value("messages", json()));
    const bool stream = bool_field(body, "stream", true);
    const std::optional<KeepAlive> keep_alive = keep_alive_from_json(body);
    const std::string display = stored.name.display();

    if (messages.empty()) {
        send_json(res, 200,
                  load_or_unload(context, stored, keep_alive,
                                 {{"model", display}, {"created_at", rfc3339_now()}, {"message", {{"role", "assistant"}, {"content", ""}}}}));
        return;
    }
    const std::shared_ptr<const Grammar> format = request_format(req);
    ThinkSetting think = parse_think(body);
    const json tools = tools_field(body);
    std::shared_ptr<Scheduler::Lease> lease = acquire_model(context, stored, keep_alive);
    LoadedModel& model = lease->model();
    if (model.is_embedding_model()) throw HttpError(400, "\"" + model_text + "\" does not support chat");
    // A structured answer starts at its first token: no reasoning unless the request asks for it.
    if (!format) enable_default_thinking(model, think);
    const std::string prompt = render_conversation(model, display, messages, tools, think);
    GenerationRequest request = generation_request(model, prompt, body.value("options", json::object()));
    request.format = format;
    auto parser = output_parser_for(model, prompt, think, !tools.empty());

    auto message = [](const OutputDelta& d, const json& tool_calls) {
        json m = {{"role", "assistant"}, {"content", d.content}};
        if (!d.thinking.empty()) m["thinking"] = d.thinking;
        if (!tool_calls.empty()) m["tool_calls"] = tool_calls;
        return m;
    };
    if (!stream) {
        const auto [text, stats] = collect_generation(*lease, request);
        const OutputDelta all = parser->parse_all(text);
        json answer = chat_final_chunk(display, lease->load_duration_ns(), stats, "", ns_since(start));
        answer["message"] = message(all, parser->tool_calls());
        send_json(res, 200, answer);
        return;
    }
    auto chunk = [display, message](const OutputDelta& d, const json& tool_calls) {
        return ndjson({{"model", display}, {"created_at", rfc3339_now()}, {"message", message(d, tool_calls)}, {"done", false}});
    };
    stream_generation(res, lease, request, display,
                      {"application/x-ndjson", "/api/chat",
                       [parser, chunk](const std::string& piece) {
                           const OutputDelta d = parser->push(piece);
                           return d.content.empty() && d.thinking.empty() ? std::string() : chunk(d, json::array());
                       },
                       [parser, chunk, display, load_ns = lease->load_duration_ns(), start](const GenerationStats& stats) {
                           const OutputDelta d = parser->finish();
                           std::string out;
                           if (!d.content.empty() || !d.thinking.empty()) out += chunk(d, json::array());
                           // Tool calls come whole, in a chunk of their own, before the final one.
                           if (!parser->tool_calls().empty()) out += chunk({}, parser->tool_calls());
                           return out + ndjson(chat_final_chunk(display, load_ns, stats, "", ns_since(start)));
                       },
                       [](const std::string& error) { return ndjson({{"error", error}}); }});
}

// The inputs of /api/embed: a string or an array of strings.
std::vector<std::string> embed_inputs(const json& body) {
    const auto it = body.find("input");
    if (it == body.end() || it->is_null()) return {};
    if (it->is_string()) return it->get<std::string>().empty() ? std::vector<std::string>{} : std::vector<std::string>{it->get<std::string>()};
    if (it->is_array()) {
        std::vector<std::string> out;
        for (const json& item : *it) {
            if (!item.is_string()) throw HttpError(400, "invalid input type");
            out.push_back(item.get<std::string>());
        }
        return out;
    }
    throw HttpError(400, "invalid input type");
}

void embed(ServerContext& context, const httplib::Request& req, httplib::Response& res) {
    const auto start = Clock::now();
    const json body = parse_body(req);
    const std::string model_text = model_field(body);
    if (model_text.empty()) throw HttpError(400, "model is required");
    const StoredModel stored = context.find_model(model_text);
    const std::vector<std::string> inputs = embed_inputs(body);
    const bool truncate = bool_field(body, "truncate", true);
    const int64_t dimensions = dimensions_field(body);
    std::shared_ptr<Scheduler::Lease> lease = acquire_model(context, stored, keep_alive_from_json(body));
    LoadedModel& model = lease->model();
    json embeddings = json::array();
    int64_t tokens = 0;
    for (const std::string& input : inputs) {
        Embedding e = model.embed(lease->slot(), input, truncate, /*normalize=*/true);
        cut_dimensions(e.vector, dimensions);
        tokens += e.token_count;
        embeddings.push_back(e.vector);
    }
    json answer = {{"model", stored.name.display()}, {"embeddings", embeddings}};
    if (!inputs.empty()) {
        answer["total_duration"] = ns_since(start);
        if (lease->load_duration_ns() > 0) answer["load_duration"] = lease->load_duration_ns();
        answer["prompt_eval_count"] = tokens;
    }
    send_json(res, 200, answer);
}

// The legacy endpoint: one prompt, an unnormalised vector of float64.
void embeddings(ServerContext& context, const httplib::Request& req, httplib::Response& res) {
    const json body = parse_body(req);
    const std::string model_text = model_field(body);
    if (model_text.empty()) throw HttpError(400, "model is required");
    const StoredModel stored = context.find_model(model_text);
    const std::string prompt = string_field(body, "prompt");
    std::shared_ptr<Scheduler::Lease> lease = acquire_model(context, stored, keep_alive_from_json(body));
    if (prompt.empty()) {
        send_json(res, 200, {{"embedding", json::array()}});
        return;
    }
    const Embedding e = lease->model().embed(lease->slot(), prompt, /*truncate=*/true, /*normalize=*/false);
    json vector = json::array();
    for (float x : e.vector) vector.push_back(static_cast<double>(x));
    send_json(res, 200, {{"embedding", vector}});
}

}  // namespace

void register_inference_routes(httplib::Server& s, ServerContext& context) {
    s.Post("/api/generate", [&context](const httplib::Request& req, httplib::Response& res) {
        answer_errors(res, [&] { generate(context, req, res); });
    });
    s.Post("/api/chat", [&context](const httplib::Request& req, httplib::Response& res) {
        answer_errors(res, [&] { chat(context, req, res); });
    });
    s.Post("/api/embed", [&context](const httplib::Request& req, httplib::Response& res) {
        answer_errors(res, [&] { embed(context, req, res); });
    });
    s.Post("/api/embeddings", [&context](const httplib::Request& req, httplib::Response& res) {
        answer_errors(res, [&] { embeddings(context, req, res); });
    });
}

}  // namespace rockllm
