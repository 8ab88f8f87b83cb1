// POST /v1/messages: Anthropic's Messages API over the chat pipeline (anthropic_messages.h), with
// Anthropic's error objects. As Ollama does for Claude Code and its kin, asking a model that
// cannot think to think is not an error here: the request runs without thinking.
#include <cstdio>
#include <memory>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "api/anthropic_messages.h"
#include "api/http_json.h"
#include "api/inference.h"
#include "api/server_context.h"
#include "base/random_id.h"

namespace rockllm {

using nlohmann::json;

namespace {

void messages(ServerContext& context, const httplib::Request& req, httplib::Response& res) {
    AnthropicRequest request = parse_anthropic_request(parse_body(req));
    const StoredModel stored = context.find_model(request.model);
    std::shared_ptr<Scheduler::Lease> lease = acquire_generating_model(context, req, stored, std::nullopt, request.model, "chat");
    const LoadedModel& model = lease->model();
    const ChatTemplate* chat_template = model.chat_template();
    if (request.think.enabled && chat_template && !chat_template->supports_thinking()) {
        std::fprintf(stderr, "rockllm: /v1/messages: %s does not support thinking; running without it\n", request.model.c_str());
        request.think = {};
    }
    InferenceInput input;
    input.options = std::move(request.options);
    input.think = request.think;
    input.tools = !request.tools.empty();
    enable_default_thinking(model, input.think);
    input.prompt = fit_conversation(model, request.model, std::move(request.messages), request.tools, input.think);

    const std::string id = random_id("msg_", kHexDigits, 24);
    auto events = std::make_shared<AnthropicEventStream>(id, request.model, static_cast<int64_t>(input.prompt.tokens.size()));
    AnswerShape shape = event_stream_answer(events, request.stream, "/v1/messages",
                                            [id, name = request.model](const OutputDelta& all, const json& tool_calls, const GenerationStats& stats) {
                                                return anthropic_message(id, name, all, tool_calls, stats);
                                            });
    run_inference(req, res, std::move(lease), std::move(input), std::move(shape));
}

}  // namespace

void register_anthropic_routes(RouteTable& routes, ServerContext& context) {
    routes.post("/v1/messages", [&context](const httplib::Request& req, httplib::Response& res) {
        answer_errors(res, [&] { messages(context, req, res); }, anthropic_error);
    });
}

}  // namespace rockllm
