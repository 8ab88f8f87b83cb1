// The chat templates of the engine's model families with system prompts, several turns, tool
// definitions, tool calls and tool results: each renders the prompt written by hand from the
// family's documented format (tests/data/chat_templates/README.md).
#include <doctest/doctest.h>

#include <filesystem>

#include "chat/chat_prompt.h"
#include "test_support.h"

namespace test_family_templates {

using nlohmann::json;
using rockllm::ChatMessage;
using rockllm::ChatTemplate;
using rockllm::ThinkSetting;

namespace {

const std::filesystem::path kDir = std::filesystem::path(ROCKLLM_SOURCE_DIR) / "tests/data/chat_templates";

const json kWeatherTool = json::parse(R"([{"type": "function", "function": {"name": "get_weather",
    "description": "Get the current weather for a city", "parameters": {"type": "object",
    "properties": {"city": {"type": "string", "description": "The name of the city"}}, "required": ["city"]}}}])");

struct Conversation {
    std::vector<ChatMessage> messages;
    json tools = json::array();
    ThinkSetting think;
};

Conversation conversation(const std::string& name) {
    Conversation c;
    if (name == "system-multiturn" || name == "think-off") {
        c.messages = {{"system", "You are a helpful assistant."}, {"user", "Hello!"}, {"assistant", "Hi! How can I help?"}, {"user", "What is 2+2?"}};
        if (name == "think-off") {
            c.messages[2].thinking = "The user greets me.";
            c.think = {true, false, ""};
        }
    } else if (name == "tools") {
        c.messages = {{"system", "You are a helpful assistant."}, {"user", "What is the weather in Paris?"}};
        c.tools = kWeatherTool;
    } else if (name == "tool-result") {
        ChatMessage call("assistant", "");
        call.tool_calls = json::parse(R"([{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}])");
        ChatMessage result("tool", R"({"temperature": 21})");
        result.tool_name = "get_weather";
        c.messages = {{"user", "What is the weather in Paris?"}, call, result};
        c.tools = kWeatherTool;
    } else {
        FAIL("no conversation named " << name);
    }
    return c;
}

}  // namespace

TEST_SUITE_BEGIN("unit");

TEST_CASE("family chat templates: Llama 3.x, Qwen2.5, Qwen3 and Mistral with system prompts, turns, tools and tool results") {
    int cases = 0;
    for (const std::string family : {"llama3", "qwen2.5", "qwen3", "mistral"}) {
        const ChatTemplate t(rockllm::test::read_text((kDir / (family + ".gotmpl")).string()));
        CHECK(t.supports_tools());
        for (const auto& entry : std::filesystem::directory_iterator(kDir / family)) {
            const std::string name = entry.path().stem().string();
            CAPTURE(family);
            CAPTURE(name);
            const Conversation c = conversation(name);
            CHECK(t.render(c.messages, c.tools, c.think) == rockllm::test::read_text(entry.path().string()));
            ++cases;
        }
    }
    CHECK(cases == 13);
}

TEST_CASE("family chat templates: tool text is escaped and ordered as Ollama's Go structs print it") {
    // Go's encoding/json escapes <, > and & and writes struct fields in declaration order.
    const ChatTemplate t("{{ range .Tools }}{{ . }}{{ end }}{{ range .Messages }}{{ range .ToolCalls }}{{ .Function.Arguments }}{{ end }}{{ end }}");
    const json tools = json::parse(R"([{"function": {"parameters": {"properties": {"b": {"description": "x < y & z", "type": "string"},
        "a": {"type": "integer", "enum": [1, 2]}}, "type": "object"}, "name": "f"}, "type": "function"}])");
    ChatMessage call("assistant", "");
    call.tool_calls = json::parse(R"([{"function": {"name": "f", "arguments": {"z": 1, "a": "<b>"}}}])");
    CHECK(t.render({{"user", "u"}, call}, tools, {}) ==
          R"({"type":"function","function":{"name":"f","description":"","parameters":{"type":"object","properties":{"a":{"type":"integer","enum":[1,2]},"b":{"type":"string","description":"x \u003c y \u0026 z"}}}}})"
          R"({"a":"\u003cb\u003e","z":1})");
}

TEST_SUITE_END();

}  // namespace test_family_templates
