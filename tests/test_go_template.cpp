// The Go template engine: language features one by one, errors with positions, and Ollama's
// built-in chat templates rendering the exact prompts of ../shared/testdata/templates.
#include <doctest/doctest.h>

#include <filesystem>

#include "chat/chat_prompt.h"
#include "chat/go_template.h"
#include "test_support.h"

namespace test_go_template {

using namespace rockllm;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string run(const std::string& text, const json& data = json::object()) { return gotmpl::Template::parse(text).execute(data); }

}  // namespace

TEST_SUITE_BEGIN("unit");

TEST_CASE("Go templates: text, fields, trimming, comments") {
    CHECK(run("plain text") == "plain text");
    CHECK(run("Hello, {{ .Name }}!", {{"Name", "Ann"}}) == "Hello, Ann!");
    CHECK(run("a  {{- .X -}}  b", {{"X", 1}}) == "a1b");
    CHECK(run("a \n{{- /* a comment */ -}}\n b") == "ab");
    CHECK(run("{{ .A.B.C }}", {{"A", {{"B", {{"C", "deep"}}}}}}) == "deep");
    CHECK(run("[{{ .Missing }}]") == "[<no value>]");  // printing nothing prints Go's "<no value>"
    CHECK(run("{{ if .Missing }}yes{{ else }}no{{ end }}") == "no");  // missingkey=zero
    CHECK(run("{{ .ToolCalls }}", {{"tool_calls", {1, 2}}}) == "[1,2]");  // Go names find wire names
    CHECK(run("{{ .ToolCallID }}", {{"tool_call_id", "call_1"}}) == "call_1");
    CHECK(run("{{ .Function }}", {{"function", {{"name", "f"}, {"arguments", {{"b", 1}, {"a", "x"}}}}}}) ==
          R"({"arguments":{"a":"x","b":1},"name":"f"})");  // objects print as JSON, keys sorted
    CHECK(run("{{ 3 }} {{ -2 }} {{ 1.5 }} {{ true }} {{ \"q\\n\" }} {{ `raw\\n` }}") == "3 -2 1.5 true q\n raw\\n");
}

TEST_CASE("Go templates: if / else if / else, with, and / or / not, comparisons") {
    const std::string t = "{{ if eq .R \"a\" }}A{{ else if eq .R \"b\" \"c\" }}BC{{ else }}other{{ end }}";
    CHECK(run(t, {{"R", "a"}}) == "A");
    CHECK(run(t, {{"R", "c"}}) == "BC");
    CHECK(run(t, {{"R", "z"}}) == "other");
    CHECK(run("{{ with .U }}{{ .Name }}{{ else }}none{{ end }}", {{"U", {{"Name", "u"}}}}) == "u");
    CHECK(run("{{ with .U }}{{ .Name }}{{ else }}none{{ end }}") == "none");
    CHECK(run("{{ and 1 0 2 }} {{ or 0 \"\" 3 }} {{ not 0 }} {{ and .X .Missing.Y }}", {{"X", 0}}) == "0 3 true 0");
    CHECK(run("{{ if and (gt .N 2) (le .N 5) }}in{{ end }}", {{"N", 4}}) == "in");
    CHECK(run("{{ lt 1 2.5 }} {{ ge \"b\" \"a\" }} {{ ne 1 1 }}") == "true true false");
    CHECK_THROWS_AS(run("{{ lt 1 \"a\" }}"), gotmpl::TemplateError);
}

TEST_CASE("Go templates: range with variables, else, break and continue, assignment") {
    const json data = {{"Items", {"a", "b", "c", "d"}}, {"M", {{"y", 2}, {"x", 1}}}};
    CHECK(run("{{ range .Items }}[{{ . }}]{{ end }}", data) == "[a][b][c][d]");
    CHECK(run("{{ range $i, $v := .Items }}{{ $i }}={{ $v }} {{ end }}", data) == "0=a 1=b 2=c 3=d ");
    CHECK(run("{{ range $k, $v := .M }}{{ $k }}{{ $v }}{{ end }}", data) == "x1y2");  // sorted keys
    CHECK(run("{{ range .None }}x{{ else }}empty{{ end }}", data) == "empty");
    CHECK(run("{{ range .Items }}{{ if eq . \"b\" }}{{ continue }}{{ end }}{{ if eq . \"d\" }}{{ break }}{{ end }}{{ . }}{{ end }}", data) == "ac");
    CHECK(run("{{ $last := \"\" }}{{ range .Items }}{{ $last = . }}{{ end }}{{ $last }}", data) == "d");
    CHECK(run("{{ range $i, $_ := .Items }}{{ if eq (len (slice $.Items $i)) 1 }}last={{ $_ }}{{ end }}{{ end }}", data) == "last=d");
    CHECK(run("{{ index .Items 2 }} {{ index .M \"y\" }} {{ len .Items }} {{ len \"héllo\" }}", data) == "c 2 4 6");
    CHECK(run("{{ slice \"abcdef\" 1 3 }}") == "bc");
}

TEST_CASE("Go templates: print, printf, json, escaping, pipelines") {
    CHECK(run("{{ printf \"%s\\n\\n%s\" .A .B }}", {{"A", "x"}, {"B", "y"}}) == "x\n\ny");
    CHECK(run("{{ printf \"%d-%05.2f-%q-%v-%%\" 7 3.14159 \"hi\" true }}") == "7-03.14-\"hi\"-true-%");
    CHECK(run("{{ print 1 2 \"a\" 3 }}") == "1 2a3");
    CHECK(run("{{ .X | printf \"<%s>\" }}", {{"X", "v"}}) == "<v>");
    CHECK(run("{{ json .X }}", {{"X", {{"k", {1, "two"}}}}}) == R"({"k":[1,"two"]})");
    CHECK(run("{{ html \"<a&b>\" }} {{ js \"it's\" }} {{ urlquery \"a b&c\" }}") == "&lt;a&amp;b&gt; it\\'s a+b%26c");
    CHECK(run("{{ currentDate }}").size() == 10);
}

TEST_CASE("Go templates: errors carry line and column, hostile input fails cleanly") {
    CHECK_THROWS_WITH_AS(run("line one\n{{ if .X }}unclosed"), doctest::Contains("template: 2:1:"), gotmpl::TemplateError);
    CHECK_THROWS_WITH_AS(run("{{ .X"), doctest::Contains("unclosed action"), gotmpl::TemplateError);
    CHECK_THROWS_WITH_AS(run("{{ nosuchfunc 1 }}"), doctest::Contains("function \"nosuchfunc\" not defined"), gotmpl::TemplateError);
    CHECK_THROWS_WITH_AS(run("{{ $y }}"), doctest::Contains("undefined variable"), gotmpl::TemplateError);
    CHECK_THROWS_WITH_AS(run("{{ end }}"), doctest::Contains("unexpected {{end}}"), gotmpl::TemplateError);
    CHECK_THROWS_WITH_AS(run("{{ break }}"), doctest::Contains("outside {{range}}"), gotmpl::TemplateError);
    CHECK_THROWS_AS(run("{{ \"unterminated }}"), gotmpl::TemplateError);
    CHECK_THROWS_AS(run("{{ index .A 5 }}", {{"A", {1}}}), gotmpl::TemplateError);
    CHECK_THROWS_AS(run("{{ .A.B }}", {{"A", 3}}), gotmpl::TemplateError);
    CHECK_THROWS_AS(run("{{ " + std::string(200, '(') + "1" + std::string(200, ')') + " }}"), gotmpl::TemplateError);
    CHECK(run("{{ " + std::string(20, '(') + "1" + std::string(20, ')') + " }}") == "1");
    std::string deep;
    for (int i = 0; i < 500; ++i) deep += "{{ if 1 }}";
    CHECK_THROWS_AS(run(deep), gotmpl::TemplateError);
    CHECK_THROWS_AS(run("{{ define \"x\" }}{{ end }}"), gotmpl::TemplateError);
}

TEST_CASE("chat templates: Ollama's built-in templates render the reference prompts") {
    const fs::path dir = test::testdata("templates/testdata");
    const std::vector<ChatMessage> user = {{"user", "Hello, how are you?"}};
    const std::vector<ChatMessage> user_assistant_user = {
        {"user", "Hello, how are you?"},
        {"assistant", "I'm doing great. How can I help you today?"},
        {"user", "I'd like to show off how chat templating works!"}};
    std::vector<ChatMessage> system_first = user_assistant_user;
    system_first.insert(system_first.begin(), ChatMessage{"system", "You are a helpful assistant."});
    const std::map<std::string, std::vector<ChatMessage>> cases = {
        {"user", user}, {"user-assistant-user", user_assistant_user}, {"system-user-assistant-user", system_first}};

    int rendered = 0;
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (!entry.is_directory()) continue;
        const std::string name = entry.path().filename().string();  // e.g. "llama3-instruct.gotmpl"
        const ChatTemplate tmpl(test::read_text(test::testdata("templates/" + name)));
        for (const auto& [case_name, messages] : cases) {
            const fs::path expected = entry.path() / case_name;
            if (!fs::exists(expected)) continue;
            CAPTURE(name);
            CAPTURE(case_name);
            CHECK(tmpl.render(messages, json::array(), {}) == test::read_text(expected.string()));
            ++rendered;
        }
    }
    CHECK(rendered >= 60);  // 20 templates × 3 conversations
}

TEST_CASE("chat templates: legacy .Prompt/.Response templates run per turn and stop after .Response") {
    const ChatTemplate legacy("{{ if .System }}S:{{ .System }}\n{{ end }}U:{{ .Prompt }}\nA:{{ .Response }}</s>\n");
    const std::vector<ChatMessage> conversation = {{"system", "sys"}, {"user", "one"}, {"assistant", "reply"}, {"user", "two"}};
    CHECK(legacy.render(conversation, json::array(), {}) == "S:sys\nU:one\nA:reply</s>\nU:two\nA:");
    const ChatTemplate bare(kDefaultTemplate);
    CHECK(bare.render({{"user", "just this"}}, json::array(), {}) == "just this");
    const ChatTemplate infill("<PRE> {{ .Prompt }} <SUF>{{ .Suffix }} <MID>");
    CHECK(infill.supports_insert());
    CHECK(infill.render_infill("def f(", "return x") == "<PRE> def f( <SUF>return x <MID>");
}

TEST_SUITE_END();

}  // namespace test_go_template
