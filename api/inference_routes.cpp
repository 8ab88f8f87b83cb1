// Inference: /api/generate (with load and unload), /api/embed, /api/embeddings.
#include <chrono>
#include <cstdio>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "base/elapsed.h"
#include "api/http_json.h"
#include "api/inference.h"
#include "api/ollama_options.h"
#include "api/server_context.h"

namespace rockllm {

using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;

// An empty prompt or conversation: load the model, or with keep_alive 0 unload it (checked before
// loading, as Ollama does); the answer is the given chunk, done, with done_reason load/unload.
json load_or_unload(ServerContext& context, const httplib::Request& req, const StoredModel& stored, const std::optional<KeepAlive>& keep_alive, json answer) {
    answer["done"] = true;
    if (keep_alive && keep_alive->is_zero()) {
        context.scheduler.unload(stored.name);
        answer["done_reason"] = "unload";
    } else {
        acquire_model(context, req, stored, keep_alive);  // loads; the lease ends at once
        answer["done_reason"] = "load";
    }
    return answer;
}

// The request's "options", their types checked before anything loads, as Ollama does.
json options_field(const json& body) {
    json options = body.value("options", json::object());
    if (options.is_null()) return json::object();
    if (!options.is_object()) throw HttpError(400, "options must be an object");
    try {
        for (const std::string& key : check_ollama_option_types(options))
            std::fprintf(stderr, "rockllm: invalid option provided: %s (ignored)\n", key.c_str());
    } catch (const std::invalid_argument& e) {
        throw HttpError(400, e.what());
    }
    return options;
}

// The answer of /api/generate: "response" pieces, a last chunk with the statistics and the
// "context" (the tokens, for a client that continues from them) unless raw.
AnswerShape generate_answer(bool stream, const std::string& display, int64_t load_ns, Clock::time_point start, bool with_context) {
    auto chunk = [display](const OutputDelta& d, const json& logprobs) {
        json j = {{"model", display}, {"created_at", rfc3339_now()}, {"response", d.content}, {"done", false}};
        if (!d.thinking.empty()) j["thinking"] = d.thinking;
        if (!logprobs.empty()) j["logprobs"] = logprobs;
        return j;
    };
    auto final_chunk = [display, load_ns, start, with_context](const std::string& response, const GenerationStats& stats) {
        json j = {{"model", display}, {"created_at", rfc3339_now()}, {"response", response}, {"done", true}, {"done_reason", stats.done_reason}};
        if (with_context) j["context"] = stats.context;
        add_metrics(j, stats, load_ns, ns_since(start));
        if (!stats.logprobs.empty()) j["logprobs"] = stats.logprobs;
        return j;
    };
    AnswerShape shape;
    shape.stream = stream;
    shape.route = "/api/generate";
    shape.delta_event = [chunk](const OutputDelta& d, const json& logprobs) { return ndjson(chunk(d, logprobs)); };
    shape.end_events = [chunk, final_chunk](const OutputDelta& rest, const json&, const GenerationStats& stats) {
        if (rest.content.empty() && rest.thinking.empty()) return ndjson(final_chunk("", stats));
        GenerationStats end = stats;  // the rest's chunk takes the logprobs not sent yet
        end.logprobs = json::array();
        return ndjson(chunk(rest, stats.logprobs)) + ndjson(final_chunk("", end));
    };
    shape.error_event = [](const std::string& error) { return ndjson({{"error", error}}); };
    shape.whole_answer = [final_chunk](const OutputDelta& all, const json&, const GenerationStats& stats) {
        json answer = final_chunk(all.content, stats);
        if (!all.thinking.empty()) answer["thinking"] = all.thinking;
        return answer;
    };
    return shape;
}

void generate(ServerContext& context, const httplib::Request& req, httplib::Response& res) {
    const auto start = Clock::now();
    const RequestBody parsed = parse_body_keeping_order_of(req, "format");
    const json& body = parsed.fields;
    const int top_logprobs = top_logprobs_field(body);  // checked first, as Ollama does
    const std::string model_text = model_field(body);
    if (model_text.empty()) throw HttpError(404, "model '' not found");
    const StoredModel stored = context.find_model(model_text);
    const std::string prompt = string_field(body, "prompt");
    const bool raw = bool_field(body, "raw", false);
    const bool stream = bool_field(body, "stream", true);
    const std::optional<KeepAlive> keep_alive = keep_alive_from_json(body);
    if (raw && (body.contains("template") || body.contains("system") || body.contains("context")))
        throw HttpError(400, "raw mode does not support template, system, or context");
    const std::string& display = model_text;  // echoed as the request named it, as Ollama does

    json options = options_field(body);
    if (prompt.empty()) {
        send_json(res, 200, load_or_unload(context, req, stored, keep_alive, {{"model", display}, {"created_at", rfc3339_now()}, {"response", ""}}));
        return;
    }

    if (body.contains("images") && body["images"].is_array() && !body["images"].empty())
        throw HttpError(400, "images are not supported: rockllm runs text models only");
    InferenceInput input;
    input.format = format_grammar(parsed.ordered);
    input.options = std::move(options);
    input.logprobs = bool_field(body, "logprobs", false);
    input.top_logprobs = top_logprobs;
    ThinkSetting think = parse_think(body);
    std::shared_ptr<Scheduler::Lease> lease = acquire_generating_model(context, req, stored, keep_alive, model_text, "generate");
    const LoadedModel& model = lease->model();
    // As on /api/chat: a templated prompt of a model that can think thinks unless told otherwise,
    // and the reasoning goes to "thinking", never into "response".
    if (!raw && !input.format) enable_default_thinking(model, think);
    input.prompt = tokenized(model, raw ? model.usable_text(prompt) : templated_prompt(model, display, body, think));
    if (bool_field(body, "_debug_render_only", false)) {  // Ollama's debug option: the prompt, not run
        send_json(res, 200, {{"model", display}, {"created_at", rfc3339_now()}, {"response", ""}, {"done", false},
                             {"_debug_info", {{"rendered_template", input.prompt.text}}}});
        return;
    }
    if (!raw) input.think = think;
    run_inference(req, res, lease, std::move(input), generate_answer(stream, display, lease->load_duration_ns(), start, !raw));
}

// The answer of /api/chat: assistant message pieces, the tool calls whole in a chunk of their own,
// a last chunk with the statistics.
AnswerShape chat_answer(bool stream, const std::string& display, int64_t load_ns, Clock::time_point start) {
    auto message = [](const OutputDelta& d, const json& tool_calls) {
        json m = {{"role", "assistant"}, {"content", d.content}};
        if (!d.thinking.empty()) m["thinking"] = d.thinking;
        if (!tool_calls.empty()) m["tool_calls"] = tool_calls;
        return m;
    };
    auto chunk = [display, message](const OutputDelta& d, const json& tool_calls, const json& logprobs) {
        json j = {{"model", display}, {"created_at", rfc3339_now()}, {"message", message(d, tool_calls)}, {"done", false}};
        if (!logprobs.empty()) j["logprobs"] = logprobs;
        return j;
    };
    auto final_chunk = [display, load_ns, start, message](const OutputDelta& d, const json& tool_calls, const GenerationStats& stats) {
        json j = {{"model", display}, {"created_at", rfc3339_now()}, {"message", message(d, tool_calls)}, {"done", true},
                  {"done_reason", stats.done_reason}};
        add_metrics(j, stats, load_ns, ns_since(start));
        if (!stats.logprobs.empty()) j["logprobs"] = stats.logprobs;
        return j;
    };
    AnswerShape shape;
    shape.stream = stream;
    shape.route = "/api/chat";
    shape.delta_event = [chunk](const OutputDelta& d, const json& logprobs) { return ndjson(chunk(d, json::array(), logprobs)); };
    shape.end_events = [chunk, final_chunk](const OutputDelta& rest, const json& tool_calls, const GenerationStats& stats) {
        std::string out;
        GenerationStats end = stats;  // the logprobs not sent yet go with the first chunk of the end
        json logprobs = stats.logprobs;
        if (!rest.content.empty() || !rest.thinking.empty()) out += ndjson(chunk(rest, json::array(), std::exchange(logprobs, json::array())));
        if (!tool_calls.empty()) out += ndjson(chunk({}, tool_calls, std::exchange(logprobs, json::array())));
        end.logprobs = std::move(logprobs);
        return out + ndjson(final_chunk({}, json::array(), end));
    };
    shape.error_event = [](const std::string& error) { return ndjson({{"error", error}}); };
    shape.whole_answer = final_chunk;
    return shape;
}

void chat(ServerContext& context, const httplib::Request& req, httplib::Response& res) {
    const auto start = Clock::now();
    const RequestBody parsed = parse_body_keeping_order_of(req, "format");
    const json& body = parsed.fields;
    const int top_logprobs = top_logprobs_field(body);  // checked first, as Ollama does
    const std::string model_text = model_field(body);
    if (model_text.empty()) throw HttpError(400, "model is required");
    const StoredModel stored = context.find_model(model_text);
    const std::vector<ChatMessage> messages = parse_messages(body.value("messages", json()));
    const bool stream = bool_field(body, "stream", true);
    const std::optional<KeepAlive> keep_alive = keep_alive_from_json(body);
    const std::string& display = model_text;  // echoed as the request named it, as Ollama does

    json options = options_field(body);
    if (messages.empty()) {
        send_json(res, 200,
                  load_or_unload(context, req, stored, keep_alive,
                                 {{"model", display}, {"created_at", rfc3339_now()}, {"message", {{"role", "assistant"}, {"content", ""}}}}));
        return;
    }
    InferenceInput input;
    input.format = format_grammar(parsed.ordered);
    input.options = std::move(options);
    input.logprobs = bool_field(body, "logprobs", false);
    input.top_logprobs = top_logprobs;
    input.think = parse_think(body);
    const json tools = tools_field(body);
    input.tools = !tools.empty();
    std::shared_ptr<Scheduler::Lease> lease = acquire_generating_model(context, req, stored, keep_alive, model_text, "chat");
    const LoadedModel& model = lease->model();
    // A structured answer starts at its first token: no reasoning unless the request asks for it.
    if (!input.format) enable_default_thinking(model, input.think);
    input.prompt = fit_conversation(model, display, messages, tools, input.think);
    if (bool_field(body, "_debug_render_only", false)) {
        send_json(res, 200, {{"model", display}, {"created_at", rfc3339_now()}, {"message", {{"role", ""}, {"content", ""}}},
                             {"done", false}, {"_debug_info", {{"rendered_template", input.prompt.text}}}});
        return;
    }
    run_inference(req, res, lease, std::move(input), chat_answer(stream, display, lease->load_duration_ns(), start));
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
    options_field(body);  // checked, as Ollama does; none of them changes an embedding here
    std::shared_ptr<Scheduler::Lease> lease = acquire_model(context, req, stored, keep_alive_from_json(body));
    LoadedModel& model = lease->model();
    json embeddings = json::array();
    int64_t tokens = 0;
    for (const std::string& input : inputs) {
        Embedding e = model.embed(lease->slot(), input, truncate, /*normalize=*/true);
        cut_dimensions(e.vector, dimensions);
        tokens += e.token_count;
        embeddings.push_back(e.vector);
    }
    json answer = {{"model", model_text}, {"embeddings", embeddings}};
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
    std::shared_ptr<Scheduler::Lease> lease = acquire_model(context, req, stored, keep_alive_from_json(body));
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

void register_inference_routes(RouteTable& routes, ServerContext& context) {
    routes.post("/api/generate", native_route(context, generate));
    routes.post("/api/chat", native_route(context, chat));
    routes.post("/api/embed", native_route(context, embed));
    routes.post("/api/embeddings", native_route(context, embeddings));
}

}  // namespace rockllm
