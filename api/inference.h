// Pieces the native and the OpenAI-compatible inference routes share.
#pragma once

#include <functional>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "api/server_context.h"
#include "chat/output_parser.h"

namespace httplib {
class DataSink;
struct Request;
struct Response;
}

namespace rockllm {

// A slot of the model for one request; the scheduler's refusals become HttpErrors (503 when the
// queue is full, 500 when the model cannot fit into memory, 499 when the client hung up while
// the request waited).
std::shared_ptr<Scheduler::Lease> acquire_model(ServerContext& context, const httplib::Request& req, const StoredModel& stored,
                                                std::optional<KeepAlive> keep_alive);

// A slot of a model that generates text; HttpError 400 for an embedding model ("\"<name as
// requested>\" does not support <verb>", as Ollama words it).
std::shared_ptr<Scheduler::Lease> acquire_generating_model(ServerContext& context, const httplib::Request& req, const StoredModel& stored,
                                                           std::optional<KeepAlive> keep_alive, const std::string& requested,
                                                           const char* verb);

// A request's "tools": [] when absent; HttpError 400 unless a list.
nlohmann::json tools_field(const nlohmann::json& body);

// Scales to unit L2 length (after cutting an embedding to fewer dimensions).
void normalize_vector(std::vector<float>& v);
// A request's "dimensions": 0 when absent (keep all); HttpError 400 unless a non-negative integer.
int64_t dimensions_field(const nlohmann::json& body);
// A request's "top_logprobs": 0 when absent; HttpError 400 outside 0-20, as Ollama.
int top_logprobs_field(const nlohmann::json& body);
// Cuts an embedding to its first `dimensions` values (0: all) and scales it back to unit length.
void cut_dimensions(std::vector<float>& v, int64_t dimensions);

// The messages of a native chat request; HttpError 400 for malformed ones.
std::vector<ChatMessage> parse_messages(const nlohmann::json& messages);
// "think": true/false or a level; HttpError 400 ("invalid think value: ...") otherwise.
ThinkSetting parse_think(const nlohmann::json& body);
// OpenAI's reasoning effort as a think setting, as Ollama maps it: "" unset, "none" off, "minimal"
// low, "xhigh"/"ultra" max, the others as Ollama's levels; HttpError 400 for anything else.
ThinkSetting think_from_reasoning_effort(const std::string& effort);
// Structured outputs: the grammar of a "format" ("json" or a JSON schema; null or "" for none),
// HttpError 400 for anything else or a schema that cannot be followed.
std::shared_ptr<const Grammar> format_grammar(const nlohmann::ordered_json& format);

// A prompt as text (which the output parser looks at) and as the tokens that run.
struct Prompt {
    std::string text;
    std::vector<int32_t> tokens;
};
Prompt tokenized(const LoadedModel& model, std::string text);

// A conversation rendered with the model's template, as Ollama prepares it: the model's stored
// MESSAGEs first, its SYSTEM first of all unless the conversation starts with a system message;
// tools and thinking only for templates that use them (HttpError 400 otherwise). A conversation
// longer than the context loses its oldest messages (never the system ones or the last).
Prompt fit_conversation(const LoadedModel& model, const std::string& display, std::vector<ChatMessage> messages,
                        const nlohmann::json& tools, const ThinkSetting& think);
// generate's prompt when not raw: [system, stored messages, user prompt] through the model's
// template (or the request's own "template"), or the infill form when a "suffix" is given; the
// text of an earlier response's "context" goes first.
std::string templated_prompt(const LoadedModel& model, const std::string& display, const nlohmann::json& body,
                             const ThinkSetting& think);
// Ollama turns thinking on for models whose template can think, unless the request says otherwise.
void enable_default_thinking(const LoadedModel& model, ThinkSetting& think);

// The model's template; HttpError 501 for models that only carry a Jinja chat template.
const ChatTemplate& template_of(const LoadedModel& model, const std::string& display);

// What a generating route runs: the prompt, Ollama's options (the route's translation of its
// own), the grammar the answer follows, and how the answer is parsed.
struct InferenceInput {
    Prompt prompt;
    nlohmann::json options = nlohmann::json::object();
    std::shared_ptr<const Grammar> format;
    ThinkSetting think;  // enabled: the reasoning is split off into thinking
    bool tools = false;  // tool calls are taken out of the content
    bool parse = true;   // false: the text comes back as generated (/v1/completions)
    bool logprobs = false;
    int top_logprobs = 0;  // 0-20, checked by the route
};

// How a route writes its answer (its adapter): streamed, an event per delta of parsed text, the
// events that end it (the parser's rest, the tool calls, the statistics) and an error event (the
// status is already 200 by then); not streamed, one JSON answer.
struct AnswerShape {
    bool stream = true;
    const char* content_type = "application/x-ndjson";
    const char* route = "";  // for the log line when a client goes away
    // logprobs: those of the tokens sampled since the last event (an empty array when not asked).
    std::function<std::string(const OutputDelta& delta, const nlohmann::json& logprobs)> delta_event;
    std::function<std::string(const OutputDelta& rest, const nlohmann::json& tool_calls, const GenerationStats& stats)> end_events;
    std::function<std::string(const std::string& error)> error_event;
    std::function<nlohmann::json(const OutputDelta& all, const nlohmann::json& tool_calls, const GenerationStats& stats)> whole_answer;
};

// The shape of an answer whose events come from a stream object with delta(d), end(rest,
// tool_calls, stats) and error(message) (Anthropic's and the Responses API's); `whole` answers a
// request that does not stream.
template <class EventStream>
AnswerShape event_stream_answer(std::shared_ptr<EventStream> events, bool stream, const char* route,
                                decltype(AnswerShape::whole_answer) whole) {
    AnswerShape shape;
    shape.stream = stream;
    shape.content_type = "text/event-stream";
    shape.route = route;
    shape.delta_event = [events](const OutputDelta& d, const nlohmann::json&) { return events->delta(d); };
    shape.end_events = [events](const OutputDelta& rest, const nlohmann::json& tool_calls, const GenerationStats& stats) {
        return events->end(rest, tool_calls, stats);
    };
    shape.error_event = [events](const std::string& error) { return events->error(error); };
    shape.whole_answer = std::move(whole);
    return shape;
}

// The one inference pipeline of generate, chat, /v1/completions and /v1/chat/completions: options
// (the model's params layer under the request's; bad ones are a 400 before anything runs), then
// the generation in the lease's slot, answered in the route's shape. A streaming client that
// disconnects stops the generation, which frees the slot, and so does a client of an answer not
// streamed that hangs up (found by its socket: client_connection.h); a server that stops ends the
// stream with an error event.
void run_inference(const httplib::Request& req, httplib::Response& res, std::shared_ptr<Scheduler::Lease> lease, InferenceInput input, AnswerShape shape);

// A JSON value as one NDJSON line (invalid UTF-8 from the model replaced).
std::string ndjson(const nlohmann::json& line);
// The final chunk's counts and nanosecond durations; zero values left out, as Ollama's omitempty.
void add_metrics(nlohmann::json& chunk, const GenerationStats& stats, int64_t load_ns, int64_t total_ns);

// One NDJSON line; false when the client has gone away.
bool write_ndjson(httplib::DataSink& sink, const nlohmann::json& line);

// Ollama's 499 case: the client disconnected mid-stream and generation stopped early.
void log_client_gone(const char* route, const std::string& model, int64_t tokens_generated);

}  // namespace rockllm
