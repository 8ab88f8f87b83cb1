// Splitting model output into thinking, content and tool calls, piece by piece as it streams.
#include <doctest/doctest.h>

#include <filesystem>

#include "chat/chat_prompt.h"
#include "chat/output_parser.h"
#include "test_support.h"

namespace test_output_parser {

using namespace rockllm;
using nlohmann::json;

namespace {

// Feeds the text in pieces of the given size; returns everything released, as {content, thinking}.
OutputDelta feed(OutputParser& p, const std::string& text, size_t piece, std::vector<OutputDelta>* steps = nullptr) {
    OutputDelta all;
    for (size_t i = 0; i < text.size(); i += piece) {
        const OutputDelta d = p.push(text.substr(i, piece));
        if (steps) steps->push_back(d);
        all.content += d.content;
        all.thinking += d.thinking;
    }
    const OutputDelta d = p.finish();
    all.content += d.content;
    all.thinking += d.thinking;
    return all;
}

}  // namespace

TEST_SUITE_BEGIN("unit");

TEST_CASE("output parser: thinking goes to thinking, whatever the piece boundaries") {
    const OutputTags tags{"<think>", "</think>", ""};
    const std::string text = "\n<think>\nLet me add 2 and 2.\n</think>\n\nThe answer is 4.";
    for (size_t piece : {1, 2, 3, 5, 7, 64}) {
        CAPTURE(piece);
        OutputParser p(tags);
        std::vector<OutputDelta> steps;
        const OutputDelta all = feed(p, text, piece, &steps);
        CHECK(all.thinking == "\nLet me add 2 and 2.\n");
        CHECK(all.content == "The answer is 4.");
        for (const OutputDelta& d : steps) {  // no piece of a tag ever released
            CHECK(d.content.find('<') == std::string::npos);
            CHECK(d.thinking.find("</") == std::string::npos);
        }
    }
    OutputParser plain(tags);
    CHECK(feed(plain, "No thinking here.", 4).content == "No thinking here.");
    OutputParser prefilled(tags, /*prompt_opens_thinking=*/true);
    const OutputDelta p = feed(prefilled, "hmm</think>Yes.", 3);
    CHECK(p.thinking == "hmm");
    CHECK(p.content == "Yes.");
    OutputParser unfinished(tags);
    CHECK(feed(unfinished, "<think>still going", 4).thinking == "still going");
}

TEST_CASE("output parser: tool calls after the template's tag become structured calls") {
    const OutputTags tags{"", "", "<tool_call>"};
    const std::string text = "Let me check.<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"unit\": \"c\"}}\n"
                             "</tool_call>\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"tz\": \"CET\"}}\n</tool_call>";
    for (size_t piece : {1, 4, 1000}) {
        CAPTURE(piece);
        OutputParser p(tags);
        const OutputDelta all = feed(p, text, piece);
        CHECK(all.content == "Let me check.");
        REQUIRE(p.tool_calls().size() == 2);
        const json& first = p.tool_calls()[0];
        CHECK(first.at("id").get<std::string>().size() == 13);  // call_ + 8
        CHECK(first.at("id").get<std::string>().rfind("call_", 0) == 0);
        CHECK(first.at("function").at("name") == "get_weather");
        CHECK(first.at("function").at("arguments") == json{{"city", "Paris"}, {"unit", "c"}});
        CHECK(first.at("function").at("index") == 0);
        CHECK(p.tool_calls()[1].at("function").at("name") == "get_time");
    }
    OutputParser mistral(OutputTags{"", "", "[TOOL_CALLS]"});
    const OutputDelta m = feed(mistral, "[TOOL_CALLS][{\"name\":\"f\",\"arguments\":\"{\\\"x\\\":1}\"}]", 5);
    CHECK(m.content.empty());
    REQUIRE(mistral.tool_calls().size() == 1);
    CHECK(mistral.tool_calls()[0]["function"]["arguments"] == json{{"x", 1}});  // a JSON string is decoded
    OutputParser broken(tags);
    feed(broken, "<tool_call>{not json}", 3);
    CHECK(broken.tool_calls().empty());
}

TEST_CASE("output parser: tags inferred from templates") {
    const std::string qwen = "{{- range .Messages }}{{ if .Thinking }}<think>{{ .Thinking }}</think>{{ end }}"
                             "{{- if .ToolCalls }}<tool_call>\n{{ range .ToolCalls }}{\"name\": \"{{ .Function.Name }}\"}{{ end }}</tool_call>{{ end }}{{ end }}";
    const OutputTags t = tags_from_template(qwen, true, true);
    CHECK(t.think_open == "<think>");
    CHECK(t.think_close == "</think>");
    CHECK(t.tool_call == "<tool_call>");
    const OutputTags mistral = tags_from_template("{{ if .ToolCalls }}[TOOL_CALLS][{{ range .ToolCalls }}{}{{ end }}]{{ end }}", false, true);
    CHECK(mistral.tool_call == "[TOOL_CALLS]");
    CHECK(mistral.think_open.empty());
    CHECK(tags_from_template("{{ .Prompt }}", true, false).think_open == "<think>");  // the default
    const OutputTags tested_first = tags_from_template("{{ if .Thinking }}[[{{- .Thinking -}}]]{{ end }}", true, false);
    CHECK(tested_first.think_open == "[[");  // the printing action counts, not the test
    CHECK(tested_first.think_close == "]]");
}

TEST_CASE("output parser: each family's template reads back the tool call it writes (Llama 3's bare JSON too)") {
    // What a template prints for an assistant's call is what the model was trained to answer: the
    // text the call adds to the rendered conversation, fed to the parser, gives the call again.
    const std::filesystem::path own = std::filesystem::path(ROCKLLM_SOURCE_DIR) / "tests/data/chat_templates";
    const std::vector<std::filesystem::path> templates = {own / "llama3.gotmpl", own / "qwen2.5.gotmpl", own / "qwen3.gotmpl",
                                                          own / "mistral.gotmpl", test::testdata("templates/command-r.gotmpl")};
    const json tools = json::parse(R"([{"type": "function", "function": {"name": "get_weather", "description": "Weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}])");
    for (const auto& path : templates) {
        CAPTURE(path.filename().string());
        const std::string text = test::read_text(path);
        const ChatTemplate t(text);
        REQUIRE(t.supports_tools());
        ChatMessage call("assistant", "");
        call.tool_calls = json::parse(R"([{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}])");
        const std::vector<ChatMessage> asked = {{"user", "What is the weather in Paris?"}};
        const std::string before = t.render(asked, tools, {});
        std::vector<ChatMessage> answered = asked;
        answered.push_back(call);
        const std::string after = t.render(answered, tools, {});
        size_t common = 0;
        while (common < before.size() && common < after.size() && before[common] == after[common]) ++common;
        const std::string answer = after.substr(common);
        CAPTURE(answer);
        for (size_t piece : {1, 7, 1000}) {
            OutputParser p(tags_from_template(text, false, true));
            const OutputDelta d = feed(p, answer, piece);
            CHECK(d.content.find("get_weather") == std::string::npos);
            REQUIRE(p.tool_calls().size() == 1);
            CHECK(p.tool_calls()[0]["function"]["name"] == "get_weather");
            CHECK(p.tool_calls()[0]["function"]["arguments"] == json{{"city", "Paris"}});
        }
    }
}

TEST_CASE("output parser: with bare tool calls, an answer that is no call stays content") {
    const OutputTags bare = tags_from_template(test::read_text(std::filesystem::path(ROCKLLM_SOURCE_DIR) / "tests/data/chat_templates/llama3.gotmpl"), false, true);
    CHECK(bare.bare_tool_calls);
    CHECK(bare.tool_call.empty());
    for (const std::string& text : {std::string("The weather in Paris is mild."), std::string(" {\"city\": \"Paris\", \"temp\": 21}"),
                                   std::string("[1, 2, 3] are numbers"), std::string("{\"unfinished\": ")}) {
        CAPTURE(text);
        for (size_t piece : {1, 5, 1000}) {
            OutputParser p(bare);
            CHECK(feed(p, text, piece).content == text);
            CHECK(p.tool_calls().empty());
        }
    }
    // Two calls one after the other, as Llama 3.2 answers for parallel calls.
    OutputParser p(bare);
    feed(p, R"({"name": "a", "parameters": {}}; {"name": "b", "parameters": {"x": 1}})", 3);
    REQUIRE(p.tool_calls().size() == 2);
    CHECK(p.tool_calls()[1]["function"]["arguments"] == json{{"x", 1}});
}

TEST_SUITE_END();

}  // namespace test_output_parser
