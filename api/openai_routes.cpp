// The OpenAI-compatible routes (/v1/*; the Responses API's translation is openai_responses.h),
// translated onto the native pieces: the OpenAI error shape, OpenAI's sampling defaults
// (temperature and top_p 1.0 when omitted), SSE streaming ending in [DONE].
#include <algorithm>
#include <chrono>
#include <memory>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "api/http_json.h"
#include "api/inference.h"
#include "api/openai_responses.h"
#include "api/server_context.h"
#include "base/random_id.h"

namespace rockllm {

using nlohmann::json;

namespace {

// OpenAI's error body: {"error": {message, type, param, code}}.
json openai_error(int status, const std::string& message) {
    const char* type = status == 400 ? "invalid_request_error" : status == 404 ? "not_found_error" : "api_error";
    return {{"error", {{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}}}};
}

json model_object(const StoredModel& m) {
    const auto modified = std::chrono::file_clock::to_sys(m.modified);
    return {{"id", m.name.display()},
            {"object", "model"},
            {"created", std::chrono::duration_cast<std::chrono::seconds>(modified.time_since_epoch()).count()},
            {"owned_by", m.name.name_space}};
}

// OpenAI request fields as native options.
json native_options(const json& body) {
    json options = json::object();
    options["temperature"] = body.contains("temperature") && !body["temperature"].is_null() ? body["temperature"] : json(1.0);
    options["top_p"] = body.contains("top_p") && !body["top_p"].is_null() ? body["top_p"] : json(1.0);
    if (body.contains("max_tokens") && !body["max_tokens"].is_null()) options["num_predict"] = body["max_tokens"];
    else if (body.contains("max_completion_tokens") && !body["max_completion_tokens"].is_null())
        options["num_predict"] = body["max_completion_tokens"];  // the newer name (openai SDK)
    for (const char* key : {"seed", "frequency_penalty", "presence_penalty"})
        if (body.contains(key) && !body[key].is_null()) options[key] = body[key];
    if (body.contains("stop") && !body["stop"].is_null()) {
        const json& stop = body["stop"];
        if (stop.is_string()) options["stop"] = json::array({stop});
        else if (stop.is_array()) options["stop"] = stop;
        else throw HttpError(400, "invalid type for 'stop' field");
    }
    return options;
}

json usage(const GenerationStats& stats) {
    return {{"prompt_tokens", stats.prompt_eval_count},
            {"completion_tokens", stats.eval_count},
            {"total_tokens", stats.prompt_eval_count + stats.eval_count}};
}

// An OpenAI answer (its adapter onto the pipeline): streamed, an SSE event per choice (none while
// the parser holds text back), the events of the end, the usage event when asked for, and [DONE];
// an error as OpenAI's error object, then [DONE]. envelope(choices) gives a chunk object around
// its "choices"; whole gives the answer of a request that does not stream.
AnswerShape openai_answer(bool stream, const char* route, std::function<json(const json& choices)> envelope,
                          std::function<std::vector<json>(const OutputDelta& delta)> delta_choices,
                          std::function<std::vector<json>(const OutputDelta& rest, const json& tool_calls, const std::string& reason)> end_choices,
                          bool include_usage, decltype(AnswerShape::whole_answer) whole) {
    auto sse = [](const json& j) { return "data: " + j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n"; };
    AnswerShape shape;
    shape.stream = stream;
    shape.content_type = "text/event-stream";
    shape.route = route;
    // Logprobs go with the first choice of an event, as {"content": [...]}.
    auto with_logprobs = [](std::vector<json> choices, const json& logprobs) {
        if (!logprobs.empty() && !choices.empty()) choices.front()["logprobs"] = {{"content", logprobs}};
        return choices;
    };
    shape.delta_event = [envelope, delta_choices, sse, with_logprobs](const OutputDelta& d, const json& logprobs) {
        std::string out;
        for (const json& choice : with_logprobs(delta_choices(d), logprobs)) out += sse(envelope(json::array({choice})));
        return out;
    };
    shape.end_events = [envelope, end_choices, sse, include_usage, with_logprobs](const OutputDelta& rest, const json& tool_calls,
                                                                                  const GenerationStats& stats) {
        std::string out;
        for (const json& choice : with_logprobs(end_choices(rest, tool_calls, stats.done_reason), stats.logprobs))
            out += sse(envelope(json::array({choice})));
        if (include_usage) {
            json u = envelope(json::array());
            u["usage"] = usage(stats);
            out += sse(u);
        }
        return out + "data: [DONE]\n\n";
    };
    shape.error_event = [sse](const std::string& error) {
        return sse({{"error", {{"message", error}, {"type", "api_error"}, {"param", nullptr}, {"code", nullptr}}}}) + "data: [DONE]\n\n";
    };
    shape.whole_answer = [whole = std::move(whole)](const OutputDelta& all, const json& tool_calls, const GenerationStats& stats) {
        json answer = whole(all, tool_calls, stats);
        if (!stats.logprobs.empty() && !answer["choices"].empty()) answer["choices"][0]["logprobs"] = {{"content", stats.logprobs}};
        return answer;
    };
    return shape;
}

// stream_options.include_usage of a streamed request.
bool usage_asked(const json& body, bool stream) {
    return stream && body.contains("stream_options") && body["stream_options"].is_object() &&
           body["stream_options"].value("include_usage", false);
}

// Tool calls in OpenAI's shape: arguments as a JSON string, type "function".
json openai_tool_calls(const json& calls) {
    json out = json::array();
    for (const json& c : calls)
        out.push_back({{"index", c["function"].value("index", 0)},
                       {"id", c.value("id", "")},
                       {"type", "function"},
                       {"function", {{"name", c["function"]["name"]}, {"arguments", c["function"]["arguments"].dump()}}}});
    return out;
}

void completions(ServerContext& context, const httplib::Request& req, httplib::Response& res) {
    const json body = parse_body(req);
    const std::string model_text = string_field(body, "model");
    const StoredModel stored = context.find_model(model_text);
    if (body.contains("prompt") && !body["prompt"].is_string()) throw HttpError(400, "invalid type for 'prompt' field: only a string is supported");
    const bool stream = bool_field(body, "stream", false);
    InferenceInput input;
    input.options = native_options(body);
    input.parse = false;
    // The completions API's "logprobs" is the number of likeliest tokens wanted (as Ollama reads it).
    if (const auto it = body.find("logprobs"); it != body.end() && !it->is_null()) {
        if (!it->is_number_integer()) throw HttpError(400, "logprobs must be an integer");
        input.logprobs = it->get<int64_t>() > 0;
        input.top_logprobs = top_logprobs_field({{"top_logprobs", *it}});
    }
    std::shared_ptr<Scheduler::Lease> lease = acquire_generating_model(context, req, stored, std::nullopt, model_text, "generate");
    const std::string& display = model_text;  // echoed as the request named it, as Ollama does
    const json native = {{"prompt", string_field(body, "prompt")}, {"suffix", string_field(body, "suffix")}};
    input.prompt = tokenized(lease->model(), templated_prompt(lease->model(), display, native, {}));
    const std::string id = random_id("cmpl-", kDigits, 3);
    auto chunk = [id, display](const std::string& text, const json& finish_reason) {
        return json{{"id", id}, {"object", "text_completion"}, {"created", unix_seconds()}, {"model", display},
                    {"system_fingerprint", "fp_ollama"},
                    {"choices", {{{"text", text}, {"index", 0}, {"finish_reason", finish_reason}}}}};
    };
    run_inference(req, res, lease, std::move(input),
                  openai_answer(stream, "/v1/completions",
                                [chunk](const json& choices) {
                                    json c = chunk("", nullptr);
                                    c["choices"] = choices;
                                    return c;
                                },
                                [](const OutputDelta& d) {
                                    return std::vector<json>{{{"text", d.content}, {"index", 0}, {"finish_reason", nullptr}}};
                                },
                                [](const OutputDelta& rest, const json&, const std::string& reason) {
                                    return std::vector<json>{{{"text", rest.content}, {"index", 0}, {"finish_reason", reason}}};
                                },
                                usage_asked(body, stream),
                                [chunk](const OutputDelta& all, const json&, const GenerationStats& stats) {
                                    json answer = chunk(all.content, stats.done_reason);
                                    answer["usage"] = usage(stats);
                                    return answer;
                                }));
}

// OpenAI messages as native ones: content as a string or as text parts; tool calls with their
// arguments as JSON strings; tool results named by tool_call_id.
std::vector<ChatMessage> openai_messages(const json& messages) {
    if (!messages.is_array() || messages.empty()) throw HttpError(400, "[] is too short - 'messages'");
    std::vector<ChatMessage> out;
    for (const json& m : messages) {
        if (!m.is_object()) throw HttpError(400, "each message must be an object");
        ChatMessage message;
        message.role = string_field(m, "role");
        const json content = m.value("content", json());
        if (content.is_string()) {
            message.content = content.get<std::string>();
        } else if (content.is_array()) {
            for (const json& part : content) {
                const std::string type = part.is_object() ? part.value("type", "") : "";
                if (type == "text") message.content += part.value("text", "");
                else throw HttpError(400, "unsupported content part \"" + type + "\": rockllm runs text models only");
            }
        } else if (!content.is_null()) {
            throw HttpError(400, "invalid message content type");
        }
        if (m.contains("tool_calls") && m["tool_calls"].is_array()) {
            for (const json& call : m["tool_calls"]) {
                json function = call.value("function", json::object());
                if (function.contains("arguments") && function["arguments"].is_string()) {
                    json arguments = json::parse(function["arguments"].get<std::string>(), nullptr, false);
                    if (arguments.is_discarded()) throw HttpError(400, "tool call arguments are not valid JSON");
                    function["arguments"] = arguments;
                }
                message.tool_calls.push_back({{"id", call.value("id", "")}, {"function", function}});
            }
        }
        message.tool_call_id = string_field(m, "tool_call_id");
        message.tool_name = string_field(m, "name");
        if (m.contains("reasoning") && m["reasoning"].is_string()) message.thinking = m["reasoning"].get<std::string>();
        out.push_back(std::move(message));
    }
    return out;
}

// OpenAI's response_format: "text", "json_object" (any JSON object) or "json_schema" with its schema.
std::shared_ptr<const Grammar> response_format(const nlohmann::ordered_json& format) {
    if (format.is_null()) return nullptr;
    const std::string type = format.is_object() && format.contains("type") && format["type"].is_string() ? format["type"].get<std::string>() : "";
    if (type == "text") return nullptr;
    if (type == "json_object") return format_grammar("json");
    if (type == "json_schema") {
        const auto spec = format.find("json_schema");
        if (spec == format.end() || !spec->is_object() || !spec->contains("schema") || !(*spec)["schema"].is_object())
            throw HttpError(400, "response_format json_schema needs a json_schema object with a schema");
        return format_grammar((*spec)["schema"]);
    }
    throw HttpError(400, "invalid response_format type: " + format.dump() + " (must be \"text\", \"json_object\" or \"json_schema\")");
}

void chat_completions(ServerContext& context, const httplib::Request& req, httplib::Response& res) {
    const RequestBody parsed = parse_body_keeping_order_of(req, "response_format");
    const json& body = parsed.fields;
    const std::string model_text = string_field(body, "model");
    const StoredModel stored = context.find_model(model_text);
    const std::vector<ChatMessage> messages = openai_messages(body.value("messages", json()));
    const bool stream = bool_field(body, "stream", false);
    InferenceInput input;
    input.format = response_format(parsed.ordered);
    input.options = native_options(body);
    input.logprobs = bool_field(body, "logprobs", false);
    input.top_logprobs = top_logprobs_field(body);
    input.think = think_from_reasoning_effort(body.contains("reasoning_effort") && !body["reasoning_effort"].is_null()
                                                  ? string_field(body, "reasoning_effort")
                                                  : "");
    const json tools = tools_field(body);
    input.tools = !tools.empty();
    const std::string& display = model_text;  // echoed as the request named it, as Ollama does
    std::shared_ptr<Scheduler::Lease> lease = acquire_generating_model(context, req, stored, std::nullopt, model_text, "chat");
    const LoadedModel& model = lease->model();
    if (!input.format) enable_default_thinking(model, input.think);
    input.prompt = fit_conversation(model, display, messages, tools, input.think);
    const std::string id = random_id("chatcmpl-", kDigits, 3);
    // One "created" for the whole answer, as OpenAI's streams have.
    auto envelope = [id, display, created = unix_seconds()](const char* object) {
        return json{{"id", id}, {"object", object}, {"created", created}, {"model", display}, {"system_fingerprint", "fp_ollama"}};
    };
    auto message = [](const OutputDelta& d) {
        json j = {{"role", "assistant"}, {"content", d.content}};
        if (!d.thinking.empty()) j["reasoning"] = d.thinking;
        return j;
    };
    // A stream names the role in its first delta only, as OpenAI's and Ollama's do.
    auto delta = [message, role_said = std::make_shared<bool>(false)](const OutputDelta& d) {
        json j = message(d);
        if (*role_said) j.erase("role");
        *role_said = true;
        return j;
    };
    // Ollama's finish reason for an answer that called tools.
    auto finish_reason = [](const json& tool_calls, const std::string& reason) { return tool_calls.empty() ? reason : std::string("tool_calls"); };
    run_inference(req, res, lease, std::move(input),
                  openai_answer(stream, "/v1/chat/completions",
                                [envelope](const json& choices) {
                                    json c = envelope("chat.completion.chunk");
                                    c["choices"] = choices;
                                    return c;
                                },
                                [delta](const OutputDelta& d) {
                                    return std::vector<json>{{{"index", 0}, {"delta", delta(d)}, {"finish_reason", nullptr}}};
                                },
                                [delta, finish_reason](const OutputDelta& rest, const json& tool_calls, const std::string& reason) {
                                    std::vector<json> out;
                                    if (!rest.content.empty() || !rest.thinking.empty())
                                        out.push_back({{"index", 0}, {"delta", delta(rest)}, {"finish_reason", nullptr}});
                                    if (!tool_calls.empty()) {
                                        json calls = delta({});
                                        calls["tool_calls"] = openai_tool_calls(tool_calls);
                                        out.push_back({{"index", 0}, {"delta", calls}, {"finish_reason", nullptr}});
                                    }
                                    out.push_back({{"index", 0}, {"delta", json::object()}, {"finish_reason", finish_reason(tool_calls, reason)}});
                                    return out;
                                },
                                usage_asked(body, stream),
                                [envelope, message, finish_reason](const OutputDelta& all, const json& tool_calls, const GenerationStats& stats) {
                                    json whole = message(all);
                                    if (!tool_calls.empty()) whole["tool_calls"] = openai_tool_calls(tool_calls);
                                    json answer = envelope("chat.completion");
                                    answer["choices"] = {{{"index", 0}, {"message", whole}, {"finish_reason", finish_reason(tool_calls, stats.done_reason)}}};
                                    answer["usage"] = usage(stats);
                                    return answer;
                                }));
}

// The Responses API (openai_responses.h): a chat whose answer is a response object or its events.
void responses(ServerContext& context, const httplib::Request& req, httplib::Response& res) {
    const RequestBody parsed = parse_body_keeping_order_of(req, "text");
    const ResponsesRequest request = parse_responses_request(parsed.fields, parsed.ordered);
    const StoredModel stored = context.find_model(request.model);
    InferenceInput input;
    input.format = format_grammar(request.format);
    input.options = request.options;
    input.think = request.think;
    input.tools = !request.tools.empty();
    std::shared_ptr<Scheduler::Lease> lease = acquire_generating_model(context, req, stored, std::nullopt, request.model, "chat");
    const LoadedModel& model = lease->model();
    if (!input.format) enable_default_thinking(model, input.think);
    input.prompt = fit_conversation(model, request.model, request.messages, request.tools, input.think);
    const std::string id = new_response_id();
    auto events = std::make_shared<ResponsesEventStream>(request, id);
    AnswerShape shape = event_stream_answer(events, request.stream, "/v1/responses",
                                            [request, id](const OutputDelta& all, const json& tool_calls, const GenerationStats& stats) {
                                                return responses_answer(request, id, all, tool_calls, stats);
                                            });
    run_inference(req, res, std::move(lease), std::move(input), std::move(shape));
}

// Little-endian float32 bytes in base64, as OpenAI's encoding_format "base64".
std::string base64_floats(const std::vector<float>& v) {
    static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const auto* bytes = reinterpret_cast<const unsigned char*>(v.data());  // little-endian on our targets
    const size_t n = v.size() * sizeof(float);
    std::string out;
    for (size_t i = 0; i < n; i += 3) {
        const uint32_t chunk = (uint32_t(bytes[i]) << 16) | (i + 1 < n ? uint32_t(bytes[i + 1]) << 8 : 0) | (i + 2 < n ? bytes[i + 2] : 0);
        out += alphabet[(chunk >> 18) & 63];
        out += alphabet[(chunk >> 12) & 63];
        out += i + 1 < n ? alphabet[(chunk >> 6) & 63] : '=';
        out += i + 2 < n ? alphabet[chunk & 63] : '=';
    }
    return out;
}

void openai_embeddings(ServerContext& context, const httplib::Request& req, httplib::Response& res) {
    const json body = parse_body(req);
    const std::string model_text = string_field(body, "model");
    const StoredModel stored = context.find_model(model_text);
    std::vector<std::string> inputs;
    const json input = body.value("input", json());
    if (input.is_string()) inputs.push_back(input.get<std::string>());
    else if (input.is_array() && std::all_of(input.begin(), input.end(), [](const json& j) { return j.is_string(); }))
        inputs = input.get<std::vector<std::string>>();
    else throw HttpError(400, "invalid input type");
    if (inputs.empty()) throw HttpError(400, "invalid input");
    const std::string format = body.contains("encoding_format") && !body["encoding_format"].is_null() ? string_field(body, "encoding_format") : "float";
    if (format != "float" && format != "base64")
        throw HttpError(400, "invalid encoding format: " + format + " (must be \"float\" or \"base64\")");
    const int64_t dimensions = dimensions_field(body);
    std::shared_ptr<Scheduler::Lease> lease = acquire_model(context, req, stored, std::nullopt);
    json data = json::array();
    int64_t tokens = 0;
    for (size_t i = 0; i < inputs.size(); ++i) {
        Embedding e = lease->model().embed(lease->slot(), inputs[i], /*truncate=*/true, /*normalize=*/true);
        cut_dimensions(e.vector, dimensions);
        tokens += e.token_count;
        data.push_back({{"object", "embedding"},
                        {"embedding", format == "base64" ? json(base64_floats(e.vector)) : json(e.vector)},
                        {"index", i}});
    }
    send_json(res, 200, {{"object", "list"}, {"data", data}, {"model", model_text},
                         {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}});
}

void openai_models(ServerContext& context, const httplib::Request&, httplib::Response& res) {
    json data = json::array();  // never null, unlike Ollama's quirk with an empty store
    for (const StoredModel& m : context.store.list()) data.push_back(model_object(m));
    send_json(res, 200, {{"object", "list"}, {"data", data}});
}

void model_info(ServerContext& context, const httplib::Request& req, httplib::Response& res) {
    const std::string name = req.matches[1];
    ModelName parsed;
    try {
        parsed = ModelName::parse(name);
    } catch (const InvalidModelName&) {
        throw HttpError(404, "model \"" + name + "\" not found");
    }
    const std::optional<StoredModel> m = context.store.find(parsed);
    if (!m) throw HttpError(404, "model \"" + name + "\" not found");
    send_json(res, 200, model_object(*m));
}

// The handler bound to the context, its exceptions answered in OpenAI's error shape.
RouteTable::Handler openai_route(ServerContext& context, ContextHandler handler) {
    return [&context, handler](const httplib::Request& req, httplib::Response& res) {
        answer_errors(res, [&] { handler(context, req, res); }, openai_error);
    };
}

}  // namespace

void register_openai_routes(RouteTable& routes, ServerContext& context) {
    routes.get("/v1/models", openai_route(context, openai_models));
    routes.get(R"(/v1/models/(.+))", openai_route(context, model_info));
    routes.post("/v1/completions", openai_route(context, completions));
    routes.post("/v1/chat/completions", openai_route(context, chat_completions));
    routes.post("/v1/embeddings", openai_route(context, openai_embeddings));
    routes.post("/v1/responses", openai_route(context, responses));
}

}  // namespace rockllm
