// Structured outputs: the byte grammar and its matcher, JSON schemas compiled to grammars, and
// sampling constrained by them on the real stories260K model (which knows nothing about JSON).
// Answers are checked with nlohmann's parser and a schema validator written here, independently
// of the grammar.
#include <doctest/doctest.h>

#include <random>

#include <nlohmann/json.hpp>

#include "llm/generation.h"
#include "grammar/json_schema_grammar.h"
#include "grammar/token_constraint.h"
#include "llm/model.h"
#include "llm/transformer.h"
#include "test_support.h"
#include "tokenizer/tokenizer.h"

using namespace rockllm;
using nlohmann::json;
using nlohmann::ordered_json;

namespace {

bool matches(const Grammar& g, std::string_view text) {
    GrammarMatcher m(g);
    return m.accept(text) && m.accepting();
}

bool matches_schema(const std::string& schema, std::string_view text) {
    const Grammar g = grammar_for_format(ordered_json::parse(schema));
    return matches(g, text);
}

std::string schema_error(const std::string& schema) {
    try {
        grammar_for_format(ordered_json::parse(schema));
    } catch (const SchemaError& e) {
        return e.what();
    }
    return "";
}

size_t code_points(const std::string& s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
}

// Why value does not validate against schema ("" when it does): the keywords the compiler supports.
std::string violation(const json& value, const json& schema, const json& root) {
    if (schema.contains("$ref")) {
        const std::string ref = schema["$ref"];
        return violation(value, root.at(json::json_pointer(ref.substr(1))), root);
    }
    if (schema.contains("const") && value != schema["const"]) return "not the const";
    if (schema.contains("enum") && std::find(schema["enum"].begin(), schema["enum"].end(), value) == schema["enum"].end())
        return "not in the enum";
    if (schema.contains("anyOf")) {
        for (const auto& alt : schema["anyOf"])
            if (violation(value, alt, root).empty()) return "";
        return "matches no anyOf branch";
    }
    if (schema.contains("type")) {
        const auto is = [&](const std::string& t) {
            if (t == "string") return value.is_string();
            if (t == "integer") return value.is_number_integer();
            if (t == "number") return value.is_number();
            if (t == "boolean") return value.is_boolean();
            if (t == "null") return value.is_null();
            if (t == "object") return value.is_object();
            if (t == "array") return value.is_array();
            return false;
        };
        const json types = schema["type"].is_array() ? schema["type"] : json::array({schema["type"]});
        if (std::none_of(types.begin(), types.end(), [&](const json& t) { return is(t.get<std::string>()); })) return "wrong type";
    }
    if (value.is_string()) {
        const size_t n = code_points(value.get<std::string>());
        if (schema.contains("maxLength") && n > schema["maxLength"].get<size_t>()) return "string too long";
        if (schema.contains("minLength") && n < schema["minLength"].get<size_t>()) return "string too short";
    }
    if (value.is_object()) {
        const json props = schema.value("properties", json::object());
        for (const auto& r : schema.value("required", json::array()))
            if (!value.contains(r.get<std::string>())) return "missing " + r.get<std::string>();
        for (const auto& [k, v] : value.items()) {
            if (props.contains(k)) {
                if (auto why = violation(v, props[k], root); !why.empty()) return k + ": " + why;
            } else if (schema.value("additionalProperties", json(props.empty())) == false) {
                return "unexpected member " + k;
            }
        }
    }
    if (value.is_array()) {
        if (schema.contains("minItems") && value.size() < schema["minItems"].get<size_t>()) return "too few items";
        if (schema.contains("maxItems") && value.size() > schema["maxItems"].get<size_t>()) return "too many items";
        if (schema.contains("items"))
            for (const auto& item : value)
                if (auto why = violation(item, schema["items"], root); !why.empty()) return "item: " + why;
    }
    return "";
}

}  // namespace

TEST_SUITE_BEGIN("unit");

TEST_CASE("grammar: matching, repetition through right recursion, fewest remaining bytes") {
    Grammar g;
    const int32_t digit = g.add("digit", {{Grammar::byte_set("0-9")}});
    const int32_t digits = g.declare("digits");
    g.define(digits, {{Grammar::ref(digit), Grammar::ref(digits)}, {}});
    g.set_root(g.add("root", {{Grammar::byte('n'), Grammar::ref(digit), Grammar::ref(digits), Grammar::byte(';')}}));
    g.finalize();

    CHECK(matches(g, "n7;"));
    CHECK(matches(g, "n0123456789;"));
    CHECK_FALSE(matches(g, "n;"));
    CHECK_FALSE(matches(g, "n12"));  // accepted so far, not complete
    CHECK_FALSE(matches(g, "x1;"));

    GrammarMatcher m(g);
    CHECK(m.min_remaining() == 3);
    CHECK(m.accept("n4"));
    CHECK(m.min_remaining() == 1);
    CHECK_FALSE(m.accept("4x"));  // refused: the state is unchanged
    CHECK(m.min_remaining() == 1);
    CHECK(m.accept_byte(';'));
    CHECK(m.accepting());
    CHECK_FALSE(m.can_continue());
}

TEST_CASE("grammar: left recursion and rules that never end are refused at finalize") {
    Grammar left;
    const int32_t a = left.declare("a");
    left.define(a, {{Grammar::ref(a), Grammar::byte('x')}, Grammar::literal("y")});
    left.set_root(a);
    CHECK_THROWS_WITH_AS(left.finalize(), "grammar: rule 'a' is left-recursive", std::invalid_argument);

    Grammar endless;
    const int32_t b = endless.declare("b");
    endless.define(b, {{Grammar::byte('x'), Grammar::ref(b)}});
    endless.set_root(b);
    CHECK_THROWS_WITH_AS(endless.finalize(), "grammar: rule 'b' never ends (it always recurses)", std::invalid_argument);

    Grammar undefined;
    undefined.set_root(undefined.declare("c"));
    CHECK_THROWS_WITH_AS(undefined.finalize(), "grammar: rule 'c' is not defined", std::invalid_argument);
}

TEST_CASE("format json: any JSON object, with bounded whitespace and number lengths") {
    const Grammar g = grammar_for_format(ordered_json("json"));
    for (const char* ok : {R"({})", R"({"a":1})", R"( {"a" : [1, 2.5e-3, "x\"y\u00e9", true, null, {"b":{}}]})",
                           "{\n  \"k\": \"caf\xC3\xA9\"\n}", R"({"n":-0.5})"})
        CHECK_MESSAGE(matches(g, ok), ok);
    for (const char* bad : {R"([])", R"({"a":01})", R"({"a":1,})", R"({"a" 1})", R"({'a':1})", "{\"a\":\"\x01\"}",
                            R"({"a":"\q"})", R"(42)", "{\"a\":\"\xC3\"}", R"({"a":1e})"})
        CHECK_MESSAGE(!matches(g, bad), bad);
    CHECK_FALSE(matches(g, "{" + std::string(22, ' ') + "}"));  // more whitespace than the bound
    CHECK_FALSE(matches(g, R"({"a":12345678901234567})"));      // 17 integer digits
    // Every number the grammar allows fits a double, so any JSON parser reads the answer: two
    // exponent digits (-3.121e400 came out of a sampled answer once, and parsers refuse it).
    CHECK(matches(g, R"({"a":-9999999999999999.9999999999999999e+99})"));
    CHECK(json::parse("-9999999999999999.9999999999999999e+99").is_number());
    CHECK_FALSE(matches(g, R"({"a":-3.121e400})"));
    CHECK_FALSE(matches(g, R"({"a":1e100})"));
    CHECK_FALSE(matches(g, R"("json")"));
    CHECK_FALSE(matches(g, "{} "));  // nothing after the value
}

TEST_CASE("format schema: objects keep the schema's order, required members, optional ones, no others") {
    const std::string schema = R"({"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"},
        "tags":{"type":"array","items":{"type":"string"}}},"required":["name","age"]})";
    CHECK(matches_schema(schema, R"({"name":"Lily","age":3})"));
    CHECK(matches_schema(schema, R"({"name":"Lily","age":3,"tags":["a","b"]})"));
    CHECK(matches_schema(schema, R"({ "name" : "Lily" , "age" : -3 , "tags" : [ ] })"));
    CHECK_FALSE(matches_schema(schema, R"({"age":3,"name":"Lily"})"));  // out of order
    CHECK_FALSE(matches_schema(schema, R"({"name":"Lily"})"));          // age is required
    CHECK_FALSE(matches_schema(schema, R"({"name":"Lily","age":3.5})"));
    CHECK_FALSE(matches_schema(schema, R"({"name":"Lily","age":3,"x":1})"));
    CHECK_FALSE(matches_schema(schema, R"({"name":"Lily","age":3,"tags":[1]})"));

    const std::string optional_first = R"({"properties":{"a":{"type":"boolean"},"b":{"type":"null"}},"required":["b"]})";
    CHECK(matches_schema(optional_first, R"({"b":null})"));
    CHECK(matches_schema(optional_first, R"({"a":false,"b":null})"));
    CHECK_FALSE(matches_schema(optional_first, R"({,"b":null})"));
    CHECK_FALSE(matches_schema(optional_first, R"({"a":true})"));

    const std::string open = R"({"type":"object","properties":{"a":{"type":"integer"}},"additionalProperties":{"type":"string"}})";
    CHECK(matches_schema(open, R"({"a":1,"x":"y","z":"w"})"));
    CHECK(matches_schema(open, R"({"x":"y"})"));
    CHECK_FALSE(matches_schema(open, R"({"a":1,"x":2})"));
    CHECK(matches_schema(R"({"type":"object","additionalProperties":false})", "{}"));
    CHECK_FALSE(matches_schema(R"({"type":"object","additionalProperties":false})", R"({"a":1})"));
}

TEST_CASE("format schema: enums, const, type lists, anyOf, lengths, item counts, recursive references") {
    CHECK(matches_schema(R"({"enum":["red","green",3,null]})", R"("green")"));
    CHECK(matches_schema(R"({"enum":["red","green",3,null]})", "3"));
    CHECK_FALSE(matches_schema(R"({"enum":["red","green",3,null]})", R"("blue")"));
    CHECK(matches_schema(R"({"const":{"k":[1,"x"]}})", R"({"k":[1,"x"]})"));
    CHECK(matches_schema(R"({"type":["string","null"]})", "null"));
    CHECK_FALSE(matches_schema(R"({"type":["string","null"]})", "1"));
    CHECK(matches_schema(R"({"anyOf":[{"type":"integer"},{"type":"string","maxLength":2}]})", R"("ab")"));
    CHECK_FALSE(matches_schema(R"({"anyOf":[{"type":"integer"},{"type":"string","maxLength":2}]})", R"("abc")"));
    CHECK(matches_schema(R"({"type":"string","minLength":2,"maxLength":3})", "\"\xC3\xA9\xC3\xA9\""));  // 2 characters
    CHECK_FALSE(matches_schema(R"({"type":"string","minLength":2,"maxLength":3})", R"("a")"));
    CHECK_FALSE(matches_schema(R"({"type":"string","minLength":2,"maxLength":3})", R"("abcd")"));
    const std::string counted = R"({"type":"array","items":{"type":"integer"},"minItems":2,"maxItems":3})";
    CHECK_FALSE(matches_schema(counted, "[1]"));
    CHECK(matches_schema(counted, "[1,2]"));
    CHECK(matches_schema(counted, "[1, 2, 3]"));
    CHECK_FALSE(matches_schema(counted, "[1,2,3,4]"));
    const std::string tree = R"({"$defs":{"node":{"type":"object","properties":{"v":{"type":"integer"},
        "kids":{"type":"array","items":{"$ref":"#/$defs/node"}}},"required":["v","kids"]}},"$ref":"#/$defs/node"})";
    CHECK(matches_schema(tree, R"({"v":1,"kids":[{"v":2,"kids":[]},{"v":3,"kids":[{"v":4,"kids":[]}]}]})"));
    CHECK_FALSE(matches_schema(tree, R"({"v":1,"kids":[{"v":2}]})"));
}

TEST_CASE("format schema: unsupported or malformed schemas are refused with the keyword and place") {
    CHECK(schema_error(R"({"type":"string","pattern":"^a"})") == R"(unsupported JSON schema keyword "pattern" (at /))");
    CHECK(schema_error(R"({"properties":{"x":{"type":"integer","minimum":0}}})") ==
          R"(unsupported JSON schema keyword "minimum" (at /properties/x))");
    CHECK(schema_error(R"({"type":"strin"})") == R"(unknown type "strin" (at /))");
    CHECK(schema_error(R"({"properties":{"a":{}},"required":["b"]})") == R"(required property "b" is not in "properties" (at /))");
    CHECK(schema_error(R"({"$ref":"#/$defs/missing"})") == R"("$ref" #/$defs/missing does not point into the schema (at /))");
    CHECK(schema_error(R"({"$ref":"https://example.com/s.json"})").find("only references within the schema") == 0);
    CHECK(schema_error(R"("yaml")") == R"(invalid format: "yaml"; expected "json" or a JSON schema object)");
    CHECK(schema_error(R"({"type":"array","maxItems":100000})").find("bounds above 1000") != std::string::npos);
    std::string deep = R"({"type":"string"})";
    for (int i = 0; i < 80; ++i) deep = R"({"type":"array","items":)" + deep + "}";
    CHECK(schema_error(deep) == "the schema nests deeper than 64 levels");
    const std::string self = R"({"$defs":{"a":{"$ref":"#/$defs/a"}},"$ref":"#/$defs/a"})";
    CHECK(schema_error(self) == "the schema cannot be followed: grammar: rule 'ref----defs-a' never ends (it always recurses)");
}

TEST_CASE("token constraint: masks, budget and completion on a small vocabulary") {
    const Grammar g = grammar_for_format(ordered_json::parse(R"({"enum":["yes","no"]})"));
    // ids: 0 end, 1 '"', 2 'yes', 3 'y', 4 'es', 5 'no', 6 '"no"', 7 'x', 8 control (no text)
    const SortedVocabulary vocab({"", "\"", "yes", "y", "es", "no", "\"no\"", "x", ""});
    TokenConstraint c(g, vocab, {0}, -1);
    CHECK(c.min_answer_bytes() == 4);
    std::vector<float> logits(9, 1.0f);
    REQUIRE(c.mask(logits));
    const auto allowed = [&] {
        std::vector<int> ids;
        for (size_t i = 0; i < logits.size(); ++i)
            if (std::isfinite(logits[i])) ids.push_back(static_cast<int>(i));
        return ids;
    };
    CHECK(allowed() == std::vector<int>{1, 6});
    CHECK(c.allows(1));
    CHECK_FALSE(c.allows(0));
    c.accept(1);
    logits.assign(9, 1.0f);
    c.mask(logits);
    CHECK(allowed() == std::vector<int>{2, 3, 5});
    c.accept(3);
    CHECK_THROWS_AS(c.accept(5), std::logic_error);
    c.accept(4);
    logits.assign(9, 1.0f);
    c.mask(logits);
    CHECK(allowed() == std::vector<int>{1});
    c.accept(1);
    CHECK(c.finished());
    CHECK(c.allows(0));

    // With one token left, only the token that completes the answer at once fits.
    TokenConstraint tight(g, vocab, {0}, 1);
    logits.assign(9, 1.0f);
    tight.mask(logits);
    CHECK(allowed() == std::vector<int>{6});
}

TEST_CASE("structured outputs on stories260K: 100 sampled answers under each of three schemas parse and validate") {
    const auto file = std::make_shared<const gguf::File>(gguf::File::open(test::testdata("models/stories260K.gguf")));
    const Model model = Model::load(file);
    const auto tokenizer = load_tokenizer(*file);
    const SortedVocabulary vocabulary(tokenizer->all_pieces());
    const std::vector<int32_t> prompt = tokenizer->encode("Once upon a time, there was a", true, false);

    const std::vector<std::string> schemas = {
        R"({"type":"object","properties":{"name":{"type":"string","maxLength":12},"age":{"type":"integer"},
            "happy":{"type":"boolean"}},"required":["name","age","happy"],"additionalProperties":false})",
        R"({"type":"object","properties":{"color":{"enum":["red","green","blue"]},
            "tags":{"type":"array","items":{"type":"string","maxLength":8},"minItems":1,"maxItems":3},
            "size":{"type":["number","null"]}},"required":["color","tags"]})",
        R"({"$defs":{"pet":{"type":"object","properties":{"kind":{"const":"cat"},"legs":{"type":"integer"}},"required":["kind","legs"]}},
            "type":"object","properties":{"owner":{"type":"object","properties":{"first":{"type":"string"},
            "pets":{"type":"array","items":{"$ref":"#/$defs/pet"},"maxItems":2}},"required":["first","pets"]},
            "note":{"anyOf":[{"type":"string","maxLength":10},{"type":"null"}]}},"required":["owner"]})"};
    std::random_device entropy;
    int ended_by_model = 0;
    for (const std::string& schema_text : schemas) {
        const json schema = json::parse(schema_text);
        const Grammar grammar = grammar_for_format(ordered_json::parse(schema_text));
        for (int run = 0; run < 100; ++run) {
            const uint64_t seed = entropy();
            const int64_t budget = 40 + run % 60;  // short budgets too: the answer must still be complete
            CAPTURE(schema_text);
            CAPTURE(seed);
            CAPTURE(budget);
            TransformerOptions options;
            options.n_ctx = 256;
            options.n_threads = 1;  // a model this small gains nothing from threads
            Transformer transformer(model, options);
            SamplerOptions sampling;
            sampling.temperature = 1.0f;
            sampling.seed = seed;
            Sampler sampler(sampling);
            TokenConstraint constraint(grammar, vocabulary, tokenizer->vocabulary().end_of_generation_ids(), budget);
            sampler.set_constraint(&constraint);
            GenerationOptions generation;
            generation.num_predict = budget;
            generation.end_tokens = tokenizer->vocabulary().end_of_generation_ids();
            std::string text;
            const GenerationResult result = generate(transformer, prompt, sampler, generation, [&](int32_t t) {
                text += tokenizer->token_to_piece(t);
                return true;
            });
            CAPTURE(text);
            if (result.reason == StopReason::EndToken) ++ended_by_model;
            json value;
            REQUIRE_NOTHROW(value = json::parse(text));
            CHECK(violation(value, schema, schema) == "");
        }
    }
    MESSAGE(ended_by_model << " of 300 answers ended before their token budget");
}

TEST_SUITE_END();
