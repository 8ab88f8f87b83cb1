#include "api/inference.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

#include <httplib.h>

#include "api/client_connection.h"
#include "api/http_json.h"
#include "api/loaded_model.h"
#include "base/ascii.h"
#include "grammar/json_schema_grammar.h"

namespace rockllm {

using nlohmann::json;

std::shared_ptr<Scheduler::Lease> acquire_model(ServerContext& context, const httplib::Request& req, const StoredModel& stored,
                                                std::optional<KeepAlive> keep_alive) {
    const ClientConnection client(req);
    try {
        return context.scheduler.acquire(stored, keep_alive, [&] { return client.hung_up(); });
    } catch (const ClientGone& e) {
        std::fprintf(stderr, "rockllm: %s %s: %s (499 request canceled)\n", req.method.c_str(), req.path.c_str(), e.what());
        throw HttpError(499, e.what());
    } catch (const ServerBusy& e) {
        throw HttpError(503, e.what());
    } catch (const InsufficientMemory& e) {
        throw HttpError(500, e.what());
    }
}

std::shared_ptr<Scheduler::Lease> acquire_generating_model(ServerContext& context, const httplib::Request& req, const StoredModel& stored,
                                                           std::optional<KeepAlive> keep_alive, const std::string& requested,
                                                           const char* verb) {
    std::shared_ptr<Scheduler::Lease> lease = acquire_model(context, req, stored, keep_alive);
    if (lease->model().is_embedding_model()) throw HttpError(400, "\"" + requested + "\" does not support " + verb);
    return lease;
}

Prompt tokenized(const LoadedModel& model, std::string text) {
    Prompt prompt{std::move(text), {}};
    prompt.tokens = model.tokenize(prompt.text);
    return prompt;
}

json tools_field(const json& body) {
    const auto it = body.find("tools");
    if (it == body.end() || it->is_null()) return json::array();
    if (!it->is_array()) throw HttpError(400, "tools must be a list of tools");
    return *it;
}

void normalize_vector(std::vector<float>& v) {
    double sum = 0;
    for (float x : v) sum += static_cast<double>(x) * x;
    const double norm = std::sqrt(sum);
    if (norm > 0)
        for (float& x : v) x = static_cast<float>(x / norm);
}

int64_t dimensions_field(const json& body) {
    const auto it = body.find("dimensions");
    if (it == body.end() || it->is_null()) return 0;
    if (!it->is_number_integer() || it->get<int64_t>() < 0) throw HttpError(400, "dimensions must be a non-negative integer");
    return it->get<int64_t>();
}

int top_logprobs_field(const json& body) {
    const auto it = body.find("top_logprobs");
    if (it == body.end() || it->is_null()) return 0;
    if (!it->is_number_integer()) throw HttpError(400, "top_logprobs must be an integer");
    if (it->get<int64_t>() < 0 || it->get<int64_t>() > 20) throw HttpError(400, "top_logprobs must be between 0 and 20");
    return static_cast<int>(it->get<int64_t>());
}

void cut_dimensions(std::vector<float>& v, int64_t dimensions) {
    if (dimensions <= 0 || dimensions >= static_cast<int64_t>(v.size())) return;
    v.resize(static_cast<size_t>(dimensions));
    normalize_vector(v);
}

std::vector<ChatMessage> parse_messages(const nlohmann::json& messages) {
    std::vector<ChatMessage> out;
    if (messages.is_null()) return out;
    if (!messages.is_array()) throw HttpError(400, "messages must be an array of objects");
    for (const nlohmann::json& m : messages) {
        if (!m.is_object()) throw HttpError(400, "each message must be an object");
        ChatMessage message;
        message.role = ascii_lower(string_field(m, "role"));
        if (message.role.empty()) throw HttpError(400, "a message has no role");
        message.content = string_field(m, "content");
        message.thinking = string_field(m, "thinking");
        message.tool_name = string_field(m, "tool_name");
        message.tool_call_id = string_field(m, "tool_call_id");
        if (m.contains("tool_calls") && !m["tool_calls"].is_null()) {
            if (!m["tool_calls"].is_array()) throw HttpError(400, "tool_calls must be an array");
            message.tool_calls = m["tool_calls"];
        }
        if (m.contains("images") && m["images"].is_array() && !m["images"].empty())
            throw HttpError(400, "images are not supported: rockllm runs text models only");
        out.push_back(std::move(message));
    }
    return out;
}

ThinkSetting parse_think(const nlohmann::json& body) {
    ThinkSetting think;
    const auto it = body.find("think");
    if (it == body.end() || it->is_null()) return think;
    think.is_set = true;
    if (it->is_boolean()) {
        think.enabled = it->get<bool>();
        return think;
    }
    if (it->is_string()) {
        const std::string level = it->get<std::string>();
        if (level == "low" || level == "medium" || level == "high" || level == "max") {
            think.enabled = true;
            think.level = level;
            return think;
        }
        throw HttpError(400, "invalid think value: \"" + level + "\" (must be \"low\", \"medium\", \"high\", \"max\", true or false)");
    }
    throw HttpError(400, "invalid think value: " + it->dump());
}

std::shared_ptr<const Grammar> format_grammar(const nlohmann::ordered_json& format) {
    if (format.is_null() || (format.is_string() && format.get<std::string>().empty())) return nullptr;
    if (!(format.is_string() && format.get<std::string>() == "json") && !format.is_object())
        throw HttpError(400, "invalid format: " + format.dump() + "; expected \"json\" or a valid JSON Schema object");
    try {
        std::vector<std::string> ignored;
        auto grammar = std::make_shared<const Grammar>(grammar_for_format(format, &ignored));
        // As Ollama, what the grammar cannot enforce is left out; the log says what.
        for (const std::string& what : ignored) std::fprintf(stderr, "rockllm: format: not enforced: %s\n", what.c_str());
        return grammar;
    } catch (const SchemaError& e) {
        throw HttpError(400, std::string("invalid format: ") + e.what());
    }
}

ThinkSetting think_from_reasoning_effort(const std::string& effort) {
    if (effort.empty()) return {};
    if (effort == "none") return {true, false, ""};
    if (effort == "minimal") return {true, true, "low"};
    if (effort == "low" || effort == "medium" || effort == "high" || effort == "max") return {true, true, effort};
    if (effort == "xhigh" || effort == "ultra") return {true, true, "max"};
    throw HttpError(400, "invalid reasoning value: \"" + effort +
                             "\" (must be \"minimal\", \"low\", \"medium\", \"high\", \"xhigh\", \"ultra\", \"max\", or \"none\")");
}

void enable_default_thinking(const LoadedModel& model, ThinkSetting& think) {
    if (!think.is_set && model.chat_template() && model.chat_template()->supports_thinking()) think.enabled = true;
}

namespace {

// The parser that splits this answer into content, thinking and tool calls (tags from the template).
std::shared_ptr<OutputParser> output_parser_for(const LoadedModel& model, const std::string& prompt, const ThinkSetting& think, bool tools) {
    const std::string text = model.chat_template() ? model.chat_template()->text() : "";
    OutputTags tags = tags_from_template(text, think.enabled, tools);
    // A template that ends the prompt with the open tag has the answer start inside the reasoning.
    std::string end = prompt;
    while (!end.empty() && std::isspace(static_cast<unsigned char>(end.back()))) end.pop_back();
    const bool opened = !tags.think_open.empty() && end.size() >= tags.think_open.size() &&
                        end.compare(end.size() - tags.think_open.size(), tags.think_open.size(), tags.think_open) == 0;
    return std::make_shared<OutputParser>(std::move(tags), opened);
}

}  // namespace

const ChatTemplate& template_of(const LoadedModel& model, const std::string& display) {
    const ChatTemplate* t = model.chat_template();
    if (!t)
        throw HttpError(501, "the chat template of \"" + display + "\" (tokenizer.chat_template) cannot be used: " + model.template_error() +
                                 "; create the model with a TEMPLATE, or send \"raw\": true to /api/generate");
    return *t;
}

// Ollama removes a leading <think>...</think> from the content of assistant messages before the
// last user message for qwen3 and deepseek-r1 models: the reasoning of earlier turns is not fed
// back. rockllm does the same for every model whose template can think (Ollama's own note on the
// rule says it should), and leaves the last turns alone.
static void strip_earlier_thinking(const LoadedModel& model, std::vector<ChatMessage>& messages) {
    const bool thinking_model = model.architecture().rfind("qwen3", 0) == 0 || model.stored().name.model == "deepseek-r1" ||
                                (model.chat_template() && model.chat_template()->supports_thinking());
    if (!thinking_model) return;
    size_t last_user = 0;
    bool any_user = false;
    for (size_t i = 0; i < messages.size(); ++i)
        if (messages[i].role == "user") last_user = i, any_user = true;
    if (!any_user) return;
    for (size_t i = 0; i < last_user; ++i)
        if (messages[i].role == "assistant") messages[i].content = OutputParser({"<think>", "</think>", ""}).parse_all(messages[i].content).content;
}

Prompt fit_conversation(const LoadedModel& model, const std::string& display, std::vector<ChatMessage> messages,
                        const nlohmann::json& tools, const ThinkSetting& think) {
    const ChatTemplate& t = template_of(model, display);
    if (tools.is_array() && !tools.empty() && !t.supports_tools()) throw HttpError(400, model.stored().name.full() + " does not support tools");
    if (think.enabled && !t.supports_thinking()) throw HttpError(400, "\"" + display + "\" does not support thinking");
    for (ChatMessage& m : messages) m.content = model.usable_text(std::move(m.content));
    const bool starts_with_system = !messages.empty() && messages.front().role == "system";
    messages.insert(messages.begin(), model.stored_messages().begin(), model.stored_messages().end());
    strip_earlier_thinking(model, messages);
    if (!model.system_prompt().empty() && !starts_with_system)
        messages.insert(messages.begin(), ChatMessage{"system", model.system_prompt()});
    // The conversation from its message `first` on, with the system messages before it kept.
    auto prompt_from = [&](size_t first) {
        std::vector<ChatMessage> kept;
        for (size_t j = 0; j < first; ++j)
            if (messages[j].role == "system") kept.push_back(messages[j]);
        kept.insert(kept.end(), messages.begin() + static_cast<std::ptrdiff_t>(first), messages.end());
        return tokenized(model, t.render(kept, tools, think));
    };
    const auto fits = [&](const Prompt& p) { return static_cast<int64_t>(p.tokens.size()) <= model.num_ctx(); };
    try {
        Prompt whole = prompt_from(0);
        if (messages.size() < 2 || fits(whole)) return whole;
        // Too long: the earliest start that fits, as Ollama drops the oldest messages. Dropping
        // messages never lengthens the prompt, so halving finds it in log2(n) renderings; the
        // last message alone is kept even when it does not fit.
        size_t too_long = 0, last = messages.size() - 1;
        std::optional<Prompt> fitting;
        while (last - too_long > 1) {
            const size_t middle = too_long + (last - too_long) / 2;
            Prompt p = prompt_from(middle);
            if (fits(p)) {
                last = middle;
                fitting = std::move(p);
            } else {
                too_long = middle;
            }
        }
        return fitting ? std::move(*fitting) : prompt_from(last);
    } catch (const gotmpl::TemplateError& e) {
        throw HttpError(500, std::string("rendering the prompt: ") + e.what());
    } catch (const jinja::Error& e) {
        throw HttpError(500, std::string("rendering the prompt: ") + e.what());
    }
}

namespace {

// Options as the request asks them, over the model's params layer; bad ones are a 400 now, not an
// error line mid-stream.
InferenceRequest inference_request(const LoadedModel& model, std::vector<int32_t> prompt, const json& options) {
    InferenceRequest request;
    request.prompt = std::move(prompt);
    try {
        request.apply_ollama_options(model.params());
        request.apply_ollama_options(options);
        request.sampling.validate();
    } catch (const std::invalid_argument& e) {
        throw HttpError(400, e.what());
    }
    return request;
}

void answer_whole(const httplib::Request& req, httplib::Response& res, Scheduler::Lease& lease, const InferenceRequest& request,
                  OutputParser& parser, const AnswerShape& shape) {
    const ClientConnection client(req);
    bool client_gone = false;
    std::string text;
    json logprobs = json::array();
    GenerationStats stats = lease.model().run(lease.slot(), request, [&](const std::string& piece) {
        text += piece;
        client_gone = client.hung_up();
        return !client_gone && !lease.shutting_down();
    }, &logprobs);
    stats.logprobs = std::move(logprobs);
    if (client_gone) {
        log_client_gone(shape.route, lease.model().stored().name.display(), stats.eval_count);
        return;  // nobody to answer
    }
    if (lease.shutting_down()) throw ServerBusy("the server is shutting down");
    const OutputDelta all = parser.parse_all(text);
    send_json(res, 200, shape.whole_answer(all, parser.tool_calls(), stats));
}

void answer_stream(httplib::Response& res, std::shared_ptr<Scheduler::Lease> lease, InferenceRequest request,
                   std::shared_ptr<OutputParser> parser, AnswerShape shape) {
    const char* content_type = shape.content_type;
    res.set_chunked_content_provider(content_type, [lease, request = std::move(request), parser,
                                                    shape = std::move(shape)](size_t, httplib::DataSink& sink) {
        auto write = [&sink](const std::string& text) { return text.empty() || sink.write(text.data(), text.size()); };
        try {
            bool client_gone = false;
            json logprobs = json::array();  // of the tokens whose text has not been sent yet
            GenerationStats stats = lease->model().run(lease->slot(), request, [&](const std::string& piece) {
                const OutputDelta d = parser->push(piece);
                if (!d.content.empty() || !d.thinking.empty()) {
                    client_gone = !write(shape.delta_event(d, logprobs));
                    logprobs = json::array();
                }
                return !client_gone && !lease->shutting_down();
            }, &logprobs);
            stats.logprobs = std::move(logprobs);
            if (client_gone) {
                log_client_gone(shape.route, lease->model().stored().name.display(), stats.eval_count);
                return false;
            }
            if (lease->shutting_down()) write(shape.error_event("the server is shutting down"));
            else write(shape.end_events(parser->finish(), parser->tool_calls(), stats));
        } catch (const std::exception& e) {
            write(shape.error_event(e.what()));
        }
        sink.done();
        return true;
    });
}

}  // namespace

void run_inference(const httplib::Request& req, httplib::Response& res, std::shared_ptr<Scheduler::Lease> lease, InferenceInput input,
                   AnswerShape shape) {
    const LoadedModel& model = lease->model();
    InferenceRequest request = inference_request(model, std::move(input.prompt.tokens), input.options);
    request.format = std::move(input.format);
    request.logprobs = input.logprobs;
    request.top_logprobs = input.top_logprobs;
    // The prompt cache: the free slot that already holds the most of this prompt.
    lease->move_to_best_slot([&](int slot) { return model.prompt_cache_score(slot, request.prompt); });
    auto parser = input.parse ? output_parser_for(model, input.prompt.text, input.think, input.tools) : std::make_shared<OutputParser>(OutputTags{});
    if (shape.stream) answer_stream(res, std::move(lease), std::move(request), std::move(parser), std::move(shape));
    else answer_whole(req, res, *lease, request, *parser, shape);
}

void add_metrics(json& chunk, const GenerationStats& stats, int64_t load_ns, int64_t total_ns) {
    const std::pair<const char*, int64_t> metrics[] = {
        {"total_duration", total_ns},         {"load_duration", load_ns},
        {"prompt_eval_count", stats.prompt_eval_count}, {"prompt_eval_duration", stats.prompt_eval_duration_ns},
        {"eval_count", stats.eval_count},     {"eval_duration", stats.eval_duration_ns}};
    for (const auto& [key, value] : metrics)
        if (value != 0) chunk[key] = value;
}

std::string ndjson(const nlohmann::json& line) { return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"; }

// generate's prompt without raw: [system, stored messages, user prompt] through the template (or the
// request's own "template"), or the infill form when a suffix is given; an earlier "context" first.
std::string templated_prompt(const LoadedModel& model, const std::string& display, const json& body, const ThinkSetting& think) {
    std::optional<ChatTemplate> override_template;
    if (const std::string text = string_field(body, "template"); !text.empty()) {
        try {
            override_template.emplace(text);
        } catch (const gotmpl::TemplateError& e) {
            throw HttpError(400, e.what());
        }
    }
    const ChatTemplate& t = override_template ? *override_template : template_of(model, display);
    const std::string prompt = model.usable_text(string_field(body, "prompt"));
    std::string rendered;
    if (const std::string suffix = string_field(body, "suffix"); !suffix.empty()) {
        if (!t.supports_insert()) throw HttpError(400, model.stored().name.full() + " does not support insert");
        rendered = t.render_infill(prompt, suffix);
    } else {
        std::vector<ChatMessage> messages;
        const std::string system = body.contains("system") ? model.usable_text(string_field(body, "system")) : model.system_prompt();
        if (!system.empty()) messages.push_back({"system", system});
        const bool has_context = body.contains("context") && !body["context"].is_null();
        if (!has_context) messages.insert(messages.end(), model.stored_messages().begin(), model.stored_messages().end());
        messages.push_back({"user", prompt});
        if (think.enabled && !t.supports_thinking()) throw HttpError(400, "\"" + display + "\" does not support thinking");
        try {
            rendered = t.render(messages, json::array(), think);
        } catch (const gotmpl::TemplateError& e) {
            throw HttpError(500, std::string("rendering the prompt: ") + e.what());
        } catch (const jinja::Error& e) {
            throw HttpError(500, std::string("rendering the prompt: ") + e.what());
        }
    }
    if (body.contains("context") && !body["context"].is_null()) {
        const json& context = body["context"];
        std::vector<int32_t> tokens;
        if (!context.is_array()) throw HttpError(400, "context must be a list of token ids");
        for (const json& t : context) {
            if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() > INT32_MAX)
                throw HttpError(400, "context must be a list of token ids");
            tokens.push_back(static_cast<int32_t>(t.get<int64_t>()));
        }
        rendered = model.detokenize(tokens) + rendered;
    }
    return rendered;
}

bool write_ndjson(httplib::DataSink& sink, const nlohmann::json& line) {
    const std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    return sink.write(text.data(), text.size());
}

void log_client_gone(const char* route, const std::string& model, int64_t tokens_generated) {
    std::fprintf(stderr, "rockllm: %s %s: client went away (499 request canceled); generation stopped after %lld tokens\n",
                 route, model.c_str(), static_cast<long long>(tokens_generated));
}

}  // namespace rockllm
