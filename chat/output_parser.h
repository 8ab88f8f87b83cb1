// Splits a model's streamed output the way Ollama does for chat: reasoning between the thinking
// tags goes to "thinking", tool calls after the template's tool-call tag become structured calls,
// and the rest is "content" — with no tag, and no piece of a tag, ever leaking into content
// (text that could be the start of a tag is held back until it is known not to be).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace rockllm {

struct OutputTags {
    std::string think_open, think_close;  // empty: the model does not think
    std::string tool_call;                // empty: no tool calls are parsed, unless bare
    bool bare_tool_calls = false;         // calls are JSON with no tag, opening the answer (Llama 3.x)
};

// The tags a Go template implies: the literal text around {{ .Thinking }} (default <think> and
// </think>), and the first literal text inside {{ if .ToolCalls }} up to a '{' ("<tool_call>",
// "[TOOL_CALLS]"), or bare calls when there is none (Llama 3.x's {"name": ..., "parameters": ...});
// for a Jinja template, "<tool_call>" or "[TOOL_CALLS]" when it writes one.
OutputTags tags_from_template(const std::string& template_text, bool thinking, bool tools);

struct OutputDelta {
    std::string content, thinking;
};

class OutputParser {
public:
    // prompt_opens_thinking: the rendered prompt already ends with the open tag (templates that
    // prefill it), so the output starts inside the reasoning.
    explicit OutputParser(OutputTags tags, bool prompt_opens_thinking = false);

    // The part of the text so far that can be released now.
    OutputDelta push(const std::string& piece);
    // The rest at the end of generation.
    OutputDelta finish();
    // A whole answer at once (push, then finish).
    OutputDelta parse_all(const std::string& text);
    // The calls found: [{"id": "call_xxxxxxxx", "function": {"index", "name", "arguments": {...}}}].
    const nlohmann::json& tool_calls() const { return tool_calls_; }

private:
    enum class State { Start, Thinking, Content, ToolCalls };
    OutputDelta drain(bool final);
    void parse_tool_calls(bool final);

    OutputTags tags_;
    State state_;
    std::string pending_;  // received, not yet released
    bool after_thinking_ = false;
    bool content_started_ = false;  // with bare tool calls: the answer is known to be no call
    nlohmann::json tool_calls_ = nlohmann::json::array();
};

}  // namespace rockllm
