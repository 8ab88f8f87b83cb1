// The Jinja engine: language features with hand-checked outputs, hostile templates, and every real
// chat template of the corpus (../shared/testdata/templates) rendered for six conversations and
// compared byte for byte with Python's jinja2 configured as Hugging Face transformers configures it
// (tests/tools/jinja_reference.py).
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "chat/jinja.h"
#include "test_support.h"

namespace test_jinja {

using nlohmann::ordered_json;
using rockllm::jinja::Template;

namespace {

std::string render(const std::string& source, const ordered_json& variables = ordered_json::object()) {
    return Template(source).render(variables);
}

std::string error_of(const std::string& source, const ordered_json& variables = ordered_json::object()) {
    try {
        render(source, variables);
    } catch (const rockllm::jinja::Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_SUITE_BEGIN("unit");

TEST_CASE("jinja: expressions, filters, tests and Python's printing of values") {
    CHECK(render("{{ 1 + 2 * 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ 2 ** 10 }} {{ 1 / 4 }}") == "7 3 -4 1 1024 0.25");
    CHECK(render("{{ 'a' ~ 1 ~ none }} {{ 'ab' * 2 }} {{ [1, 'x', none, true, 2.5] }} {{ {'k': 'v'} }}") ==
          "a1None abab [1, 'x', None, True, 2.5] {'k': 'v'}");
    CHECK(render("{{ 3.0 }} {{ 1e20 }} {{ 0.1 + 0.2 }} {{ 1e-5 }}") == "3.0 1e+20 0.30000000000000004 1e-05");
    CHECK(render("{{ x if x else 'none' }}|{{ y.z }}|{{ 'yes' if 1 in [1, 2] }}|{{ 'b' not in 'abc' }}") == "none||yes|False");
    CHECK(render("{{ '  hi  ' | trim }}|{{ 'Hello World' | lower | upper }}|{{ 'the cat' | title }}|{{ [3,1,2] | sort | join(',') }}") ==
          "hi|HELLO WORLD|The Cat|1,2,3");
    CHECK(render("{{ x | default('d') }} {{ '' | default('e', true) }} {{ [1,2,3] | length }} {{ 'héllo' | length }}") == "d e 3 5");
    CHECK(render("{{ m | tojson }}|{{ m | tojson(indent=2) }}", {{"m", ordered_json::parse(R"({"b":[1,"é\n"],"a":null})")}}) ==
          "{\"b\": [1, \"é\\n\"], \"a\": null}|{\n  \"b\": [\n    1,\n    \"é\\n\"\n  ],\n  \"a\": null\n}");
    CHECK(render("{{ items | selectattr('on') | map(attribute='n') | list }} {{ items | rejectattr('on') | map(attribute='n') | join }}",
                 {{"items", ordered_json::parse(R"([{"n":"a","on":true},{"n":"b","on":false},{"n":"c","on":true}])")}}) == "['a', 'c'] b");
    CHECK(render("{{ x is defined }} {{ y is none }} {{ 's' is string }} {{ {} is mapping }} {{ 3 is odd }} {{ 4 is divisibleby 2 }} {{ x is not defined }}",
                 {{"y", nullptr}}) == "False True True True True True True");
    CHECK(render("{{ 'a,b,,c'.split(',') }} {{ ' x y '.split() }} {{ 'abc'.startswith('ab') }} {{ 'Hi'.replace('i', 'o') }} {{ 'xax'.strip('x') }}") ==
          "['a', 'b', '', 'c'] ['x', 'y'] True Ho a");
    CHECK(render("{{ s[1:] }} {{ s[:-1] }} {{ s[::-1] }} {{ l[-1] }} {{ l[1:3] }}", {{"s", "abcd"}, {"l", {1, 2, 3, 4}}}) == "bcd abc dcba 4 [2, 3]");
    CHECK(render("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{{ d.get('z', 0) }}", {{"d", ordered_json::parse(R"({"b":1,"a":2})")}}) ==
          "b=1;a=2;0");
}

TEST_CASE("jinja: statements, loops, scopes, macros and whitespace control as Hugging Face renders them") {
    CHECK(render("{% for x in [1,2,3] %}{{ loop.index }}/{{ loop.length }}{% if not loop.last %},{% endif %}{% endfor %}") == "1/3,2/3,3/3");
    CHECK(render("{% for x in [] %}x{% else %}empty{% endfor %}") == "empty");
    CHECK(render("{% for x in range(10) if x is even %}{% if x > 5 %}{% break %}{% endif %}{{ x }}{% endfor %}") == "024");
    CHECK(render("{% for x in range(5) %}{% if x == 1 %}{% continue %}{% endif %}{{ x }}{% endfor %}") == "0234");
    // A loop's set does not leak; a namespace's does.
    CHECK(render("{% set n = 0 %}{% set ns = namespace(n=0) %}{% for x in [1,2] %}{% set n = n + x %}{% set ns.n = ns.n + x %}{% endfor %}{{ n }} {{ ns.n }}") ==
          "0 3");
    CHECK(render("{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('A') }} {{ greet('B', punct='?') }}") == "Hi A! Hi B?");
    CHECK(render("{% set a, b = 1, 2 %}{{ b }}{{ a }}") == "21");
    CHECK(render("{% set block %}in {{ 1 + 1 }}{% endset %}[{{ block }}]") == "[in 2]");
    CHECK(render("{% filter upper %}shout{% endfilter %}") == "SHOUT");
    CHECK(render("{# comment #}a{% raw %}{{ not }}{% endraw %}b") == "a{{ not }}b");
    // trim_blocks drops the newline after a block tag; lstrip_blocks the indentation before it.
    CHECK(render("{% if true %}\n    yes\n    {% endif %}\nend") == "    yes\nend");
    CHECK(render("a  {%- if true -%}  b  {%- endif %}  c") == "ab  c");
    CHECK(render("{{ 'x' }}\n{{ 'y' }}") == "x\ny");
    CHECK(render("  {%+ if true %}k{% endif %}") == "  k");
}

TEST_CASE("jinja: errors name the line and construct, hostile templates end") {
    CHECK(error_of("a\n{{ raise_exception('bad role') }}") == "template error at line 2: bad role");
    CHECK(error_of("{% if x %}open") == "template error at line 1: missing {% endif %}");
    CHECK(error_of("{% while true %}{% endwhile %}") == "template error at line 1: unsupported statement 'while'");
    CHECK(error_of("{{ x | frobnicate }}") == "template error at line 1: unknown filter 'frobnicate'");
    CHECK(error_of("{{ 1 +  }}") == "template error at line 1: an expression is missing");
    CHECK(error_of("{{ 'open").find("is not closed") != std::string::npos);
    CHECK(error_of("{{ 1 / 0 }}") == "template error at line 1: division by zero");
    CHECK(error_of("{{ none() }}") == "template error at line 1: 'expression' is not callable (it is none)");
    CHECK(error_of("{% for a in range(1000) %}{% for b in range(1000) %}{% for c in range(1000) %}{% endfor %}{% endfor %}{% endfor %}") ==
          "template error at line 1: the template runs too long");
    CHECK(error_of("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}").find("deeper than 64") != std::string::npos);
    CHECK(error_of("{{ range(10000000) }}").find("range is longer than") != std::string::npos);
    // Integers are 64 bits here, where Python's are unbounded: a result that does not fit is an error.
    CHECK(error_of("{{ 9223372036854775807 + 1 }}") == "template error at line 1: integer overflow in +");
    CHECK(error_of("{{ 3 ** 64 }}") == "template error at line 1: integer overflow in **");
    CHECK(render("{{ 3 ** 39 }} {{ 1 ** 99999999999 }} {{ (-1) ** 99999999999 }} {{ 0 ** 0 }}") == "4052555153018976267 1 -1 1");
    CHECK(error_of("{{ 1e300 | int }}").find("too large for an integer") != std::string::npos);
    CHECK(render("{% for i in range(9223372036854775806, 9223372036854775807, 5) %}{{ i }}{% endfor %}") == "9223372036854775806");
    // Repeating an empty string any number of times is instant; huge strings are refused before they are built.
    CHECK(render("{{ '' * 99999999999 }}|{{ 'ab' * 3 }}|{{ 'x' * -2 }}") == "|ababab|");
    CHECK(error_of("{{ 'ab' * 99999999999 }}").find("too long") != std::string::npos);
    CHECK(error_of("{{ 'ab' | indent(99999999999) }}").find("indent width") != std::string::npos);
    CHECK(error_of("{% set ns = namespace(s='x' * 1000000) %}{% for i in range(100) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}").find("longer than 64 MiB") != std::string::npos);
    std::string deep;
    for (int i = 0; i < 500; ++i) deep += "(";
    CHECK(error_of("{{ " + deep + " }}").find("nest deeper than") != std::string::npos);
    std::string nested;
    for (int i = 0; i < 500; ++i) nested += "{% if true %}";
    CHECK(error_of(nested).find("nest deeper than") != std::string::npos);
}

TEST_CASE("jinja corpus: every real chat template renders six conversations exactly as Python's jinja2 does") {
    namespace fs = std::filesystem;
    std::vector<std::pair<std::string, std::string>> templates;  // name, source
    {
        std::ifstream in(rockllm::test::testdata("templates/testdata/templates.jsonl"));
        std::string line;
        int i = 0;
        while (std::getline(in, line)) {
            if (line.empty()) continue;
            const ordered_json entry = ordered_json::parse(line);
            for (const auto& [name, source] : entry.items())
                templates.emplace_back("templates.jsonl#" + std::to_string(i) + " (" + name + ")", source.get<std::string>());
            ++i;
        }
    }
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(fs::path(rockllm::test::testdata("templates/jinja")))) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const auto& file : files) templates.emplace_back(file.filename().string(), rockllm::test::read_text(file.string()));
    REQUIRE(templates.size() >= 40);

    const ordered_json tools = ordered_json::parse(R"([{"type":"function","function":{"name":"get_weather","description":"Get the current weather",
        "parameters":{"type":"object","properties":{"city":{"type":"string","description":"The city"},"unit":{"type":"string","enum":["celsius","fahrenheit"]}},
        "required":["city"]}}}])");
    const auto msg = [](const char* role, const char* content) { return ordered_json{{"role", role}, {"content", content}}; };
    const ordered_json hello = msg("user", "Hello, how are you?");
    const ordered_json great = msg("assistant", "I'm doing great. How can I help you today?");
    const ordered_json show = msg("user", "I'd like to show off how chat templating works!");
    const ordered_json system = msg("system", "You are a helpful assistant.");
    ordered_json call = msg("assistant", "");
    call["tool_calls"] = ordered_json::parse(R"([{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":{"city":"Paris"}}}])");
    ordered_json result = msg("tool", "{\"temperature\": 22}");
    result["tool_call_id"] = "call_1";
    result["name"] = "get_weather";
    ordered_json reasoned = msg("assistant", "4");
    reasoned["reasoning_content"] = "2 + 2 is 4.";

    const auto context = [](ordered_json messages, bool generation_prompt) {
        return ordered_json{{"messages", std::move(messages)}, {"bos_token", "<s>"}, {"eos_token", "</s>"}, {"add_generation_prompt", generation_prompt}};
    };
    std::vector<ordered_json> contexts = {
        context({hello}, true),
        context({hello, great, show}, true),
        context({system, hello, great, show}, true),
        context({system, hello, great}, false),
        context({system, msg("user", "What is the weather in Paris?"), call, result}, true),
        context({msg("user", "What is 2 + 2?"), reasoned, msg("user", "And 3 + 3?")}, true),
    };
    contexts[4]["tools"] = tools;
    contexts[5]["enable_thinking"] = false;

    // The reference, from Python in one run.
    rockllm::test::ScratchDir dir;
    {
        ordered_json request = {{"templates", ordered_json::array()}, {"contexts", contexts}};
        for (const auto& t : templates) request["templates"].push_back(t.second);
        std::ofstream(dir.file("request.json")) << request.dump();
    }
    // The Debian python3 that tools/install-deps.sh gives python3-jinja2 (another python3 may come first on PATH).
    const std::string python = std::filesystem::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
    const std::string command = python + " " + std::string(ROCKLLM_SOURCE_DIR) + "/tests/tools/jinja_reference.py < " + dir.file("request.json") +
                                " > " + dir.file("reference.json");
    REQUIRE_MESSAGE(std::system(command.c_str()) == 0, "python3 with jinja2 is needed (apt install python3-jinja2)");
    const ordered_json reference = ordered_json::parse(rockllm::test::read_text(dir.file("reference.json"))).at("results");
    REQUIRE(reference.size() == templates.size());

    int rendered = 0, refused_by_both = 0;
    for (size_t t = 0; t < templates.size(); ++t) {
        std::unique_ptr<Template> compiled;
        std::string parse_error;
        try {
            compiled = std::make_unique<Template>(templates[t].second);
        } catch (const rockllm::jinja::Error& e) {
            parse_error = e.what();
        }
        for (size_t c = 0; c < contexts.size(); ++c) {
            const std::string& template_name = templates[t].first;
            CAPTURE(template_name);
            CAPTURE(c);
            const ordered_json& expected = reference[t][c];
            std::string output, error = parse_error;
            if (compiled) {
                try {
                    output = compiled->render(contexts[c]);
                } catch (const rockllm::jinja::Error& e) {
                    error = e.what();
                }
            }
            if (expected.contains("error")) {
                const std::string reference_error = expected.at("error").get<std::string>();
                CAPTURE(reference_error);
                CHECK_MESSAGE(!error.empty(), "jinja2 refused this conversation; rockllm rendered: " << output);
                ++refused_by_both;
            } else {
                REQUIRE_MESSAGE(error.empty(), error);
                CHECK(output == expected.at("output").get<std::string>());
                ++rendered;
            }
        }
    }
    MESSAGE(templates.size() << " templates x " << contexts.size() << " conversations: " << rendered << " rendered identically, "
                              << refused_by_both << " refused by both (the template raises for that conversation)");
}

TEST_SUITE_END();

}  // namespace test_jinja
