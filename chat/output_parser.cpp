#include "chat/output_parser.h"

#include <algorithm>
#include <cctype>

#include "base/random_id.h"

namespace rockllm {

using nlohmann::json;

namespace {

std::string trim(std::string s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.erase(s.begin());
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    return s;
}

// How much of the end of text could be the start of tag (so must be held back).
size_t partial_tag_suffix(const std::string& text, const std::string& tag) {
    for (size_t n = std::min(text.size(), tag.size() - 1); n > 0; --n)
        if (text.compare(text.size() - n, n, tag, 0, n) == 0) return n;
    return 0;
}

// Where the JSON value that opens at `start` ends (one past its closing bracket); npos while it is
// incomplete.
size_t json_end(const std::string& text, size_t start) {
    int depth = 0;
    bool in_string = false, escaped = false;
    for (size_t i = start; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (escaped) escaped = false;
            else if (c == '\\') escaped = true;
            else if (c == '"') in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            ++depth;
        } else if ((c == '}' || c == ']') && --depth == 0) {
            return i + 1;
        }
    }
    return std::string::npos;
}

// The function a call object names ("name", or Command R's "tool_name"); "" when it is no call.
std::string call_name(const json& call) {
    if (!call.is_object()) return "";
    for (const char* key : {"name", "tool_name"})
        if (call.contains(key) && call[key].is_string()) return call[key].get<std::string>();
    return "";
}

// Whether a parsed value is a call or a list of calls (bare JSON calls, told from a JSON answer).
bool is_tool_call(const json& value) {
    if (value.is_array()) return !value.empty() && std::all_of(value.begin(), value.end(), [](const json& c) { return !call_name(c).empty(); });
    return !call_name(value).empty() && (value.contains("arguments") || value.contains("parameters"));
}

}  // namespace

OutputTags tags_from_template(const std::string& t, bool thinking, bool tools) {
    OutputTags tags;
    if (thinking) {
        tags.think_open = "<think>";
        tags.think_close = "</think>";
        // The action that prints .Thinking ("{{ .Thinking }}", "{{- .Thinking -}}"), not one that tests it.
        size_t at = std::string::npos;
        for (size_t from = 0; (from = t.find(".Thinking", from)) != std::string::npos; ++from) {
            const size_t open_action = t.rfind("{{", from);
            if (open_action == std::string::npos) break;
            const std::string head = t.substr(open_action + 2, from - open_action - 2);
            if (head.find_first_not_of(" -") == std::string::npos) {
                at = from;
                break;
            }
        }
        if (at != std::string::npos) {
            const size_t action_start = t.rfind("{{", at);
            const size_t action_end = t.find("}}", at) + 2;
            const size_t before = t.rfind("}}", action_start);
            const std::string open = trim(t.substr(before == std::string::npos ? 0 : before + 2, action_start - (before == std::string::npos ? 0 : before + 2)));
            const size_t after = t.find("{{", action_end);
            const std::string close = trim(t.substr(action_end, (after == std::string::npos ? t.size() : after) - action_end));
            if (!open.empty() && !close.empty() && open.size() < 32 && close.size() < 32) {
                tags.think_open = open;
                tags.think_close = close;
            }
        }
    }
    if (tools) {
        for (const char* marker : {"if .ToolCalls }}", "if $.ToolCalls }}"}) {
            const size_t at = t.find(marker);
            if (at == std::string::npos) continue;
            // The literal text up to where the JSON starts: a '{', or a '[' after the tag's own
            // first character. Template actions print no tag text (Llama 3's "{{ range .ToolCalls }}{"
            // has none: its calls are bare JSON).
            size_t start = at + std::string(marker).size();
            std::string literal;
            for (size_t i = start; i < t.size();) {
                if (t.compare(i, 2, "{{") == 0) {
                    const size_t end = t.find("}}", i);
                    if (end == std::string::npos) break;
                    i = end + 2;
                    continue;
                }
                if (t[i] == '{' || (t[i] == '[' && !trim(literal).empty())) break;
                literal += t[i++];
            }
            tags.tool_call = trim(literal);
            tags.bare_tool_calls = tags.tool_call.empty();
            break;
        }
        // A Jinja chat template: the tags the families use, when the template writes them.
        for (const char* tag : {"<tool_call>", "[TOOL_CALLS]"})
            if (tags.tool_call.empty() && t.find(tag) != std::string::npos) tags.tool_call = tag;
        // A Jinja template that writes calls with no tag of its own (Llama 3.1's): bare JSON calls.
        if (tags.tool_call.empty() && t.find("tool_calls") != std::string::npos) tags.bare_tool_calls = true;
    }
    return tags;
}

OutputParser::OutputParser(OutputTags tags, bool prompt_opens_thinking)
    : tags_(std::move(tags)),
      state_(tags_.think_open.empty() ? State::Content : prompt_opens_thinking ? State::Thinking : State::Start) {}

OutputDelta OutputParser::push(const std::string& piece) {
    pending_ += piece;
    return drain(false);
}

OutputDelta OutputParser::parse_all(const std::string& text) {
    OutputDelta all = push(text);
    const OutputDelta rest = finish();
    all.content += rest.content;
    all.thinking += rest.thinking;
    return all;
}

OutputDelta OutputParser::finish() { return drain(true); }

OutputDelta OutputParser::drain(bool final) {
    OutputDelta out;
    for (;;) {
        if (state_ == State::Start) {
            // Thinking starts with the open tag (after whitespace); anything else is content.
            size_t i = 0;
            while (i < pending_.size() && std::isspace(static_cast<unsigned char>(pending_[i]))) ++i;
            const std::string rest = pending_.substr(i);
            if (rest.compare(0, tags_.think_open.size(), tags_.think_open) == 0) {
                pending_ = rest.substr(tags_.think_open.size());
                state_ = State::Thinking;
                continue;
            }
            if (!final && (rest.empty() || tags_.think_open.compare(0, rest.size(), rest) == 0)) return out;  // undecided
            state_ = State::Content;
            continue;
        }
        if (state_ == State::Thinking) {
            const size_t close = pending_.find(tags_.think_close);
            if (close != std::string::npos) {
                out.thinking += pending_.substr(0, close);
                pending_ = pending_.substr(close + tags_.think_close.size());
                state_ = State::Content;
                after_thinking_ = true;
                continue;
            }
            const size_t keep = final ? 0 : partial_tag_suffix(pending_, tags_.think_close);
            out.thinking += pending_.substr(0, pending_.size() - keep);
            pending_.erase(0, pending_.size() - keep);
            return out;
        }
        if (state_ == State::Content) {
            if (after_thinking_) {  // the answer starts at its first non-blank character
                const size_t text = pending_.find_first_not_of(" \t\r\n");
                pending_.erase(0, text == std::string::npos ? pending_.size() : text);
                if (pending_.empty() && !final) return out;
                after_thinking_ = false;
            }
            if (tags_.bare_tool_calls && !content_started_) {
                // Calls without a tag are JSON that opens the answer; any other answer is content.
                const size_t first = pending_.find_first_not_of(" \t\r\n");
                if (first == std::string::npos && !final) return out;  // undecided
                if (first != std::string::npos && (pending_[first] == '{' || pending_[first] == '[')) {
                    const size_t end = json_end(pending_, first);
                    if (end == std::string::npos && !final) return out;  // hold the JSON back until it closes
                    if (end != std::string::npos && is_tool_call(json::parse(pending_.substr(first, end - first), nullptr, false))) {
                        state_ = State::ToolCalls;
                        continue;
                    }
                }
                content_started_ = true;
            }
            const size_t tag = tags_.tool_call.empty() ? std::string::npos : pending_.find(tags_.tool_call);
            if (tag != std::string::npos) {
                out.content += pending_.substr(0, tag);
                pending_ = pending_.substr(tag + tags_.tool_call.size());
                state_ = State::ToolCalls;
                continue;
            }
            const size_t keep = final || tags_.tool_call.empty() ? 0 : partial_tag_suffix(pending_, tags_.tool_call);
            out.content += pending_.substr(0, pending_.size() - keep);
            pending_.erase(0, pending_.size() - keep);
            return out;
        }
        parse_tool_calls(final);
        return out;
    }
}

void OutputParser::parse_tool_calls(bool final) {
    // JSON objects one after another (a list is accepted too), separated by whitespace, commas or
    // the closing tag; each parsed as soon as it is complete.
    for (;;) {
        size_t start = pending_.find_first_of("{[");
        if (start == std::string::npos) {
            if (final) pending_.clear();
            return;
        }
        const size_t end = json_end(pending_, start);
        if (end == std::string::npos) return;  // incomplete: wait for more
        const json parsed = json::parse(pending_.substr(start, end - start), nullptr, false);
        pending_.erase(0, end);
        for (const json& call : parsed.is_array() ? parsed : json::array({parsed})) {
            const std::string name = call_name(call);
            if (name.empty()) continue;
            json arguments = call.contains("arguments") ? call["arguments"] : call.value("parameters", json::object());
            if (arguments.is_string()) arguments = json::parse(arguments.get<std::string>(), nullptr, false);
            if (!arguments.is_object()) arguments = json::object();
            tool_calls_.push_back({{"id", random_id("call_", kLowercaseAndDigits, 8)},
                                   {"function", {{"index", tool_calls_.size()}, {"name", name}, {"arguments", arguments}}}});
        }
    }
}

}  // namespace rockllm
