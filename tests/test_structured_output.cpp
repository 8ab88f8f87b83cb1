// Structured outputs: the byte grammar and its matcher, JSON schemas compiled to grammars, and
// sampling constrained by them on the real stories260K model (which knows nothing about JSON).
// Answers are checked with nlohmann's parser and a schema validator written here, independently
// of the grammar.
#include <doctest/doctest.h>

#include <random>
#include <regex>

#include <nlohmann/json.hpp>

#include "llm/generation.h"
#include "grammar/json_schema_grammar.h"
#include "grammar/token_constraint.h"
#include "llm/model.h"
#include "llm/transformer.h"
#include "test_support.h"
#include "tokenizer/tokenizer.h"

namespace test_structured_output {

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
    for (const char* ok : {R"({})", R"({"a":1})", R"({"a" : [1, 2.5e-3, "x\"y\u00e9", true, null, {"b":{}}]})",
                           "{\n  \"k\": \"caf\xC3\xA9\"\n}", R"({"n":-0.5})"})
        CHECK_MESSAGE(matches(g, ok), ok);
    for (const char* bad : {R"([])", R"( {})", R"({"a":01})", R"({"a":1,})", R"({"a" 1})", R"({'a':1})", "{\"a\":\"\x01\"}",
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

TEST_CASE("format schema: integer bounds, exclusive or not, in both drafts' forms, and zod's .int()") {
    struct Case {
        const char* schema;
        int64_t lo, hi;
    };
    const Case cases[] = {{R"({"type":"integer","minimum":0,"maximum":100})", 0, 100},
                          {R"({"type":"integer","minimum":-37,"maximum":5})", -37, 5},
                          {R"({"type":"integer","minimum":-120,"maximum":-7})", -120, -7},
                          {R"({"type":"integer","exclusiveMinimum":9,"exclusiveMaximum":1000})", 10, 999},
                          {R"({"type":"integer","minimum":9,"exclusiveMinimum":true,"maximum":12.5})", 10, 12},
                          {R"({"type":"integer","minimum":1.5,"maximum":199})", 2, 199},
                          {R"({"type":"integer","minimum":7,"maximum":7})", 7, 7}};
    for (const Case& c : cases) {
        CAPTURE(c.schema);
        const Grammar g = grammar_for_format(ordered_json::parse(c.schema));
        for (int64_t n = c.lo - 150; n <= c.hi + 150; ++n) {
            CAPTURE(n);
            CHECK(matches(g, std::to_string(n)) == (n >= c.lo && n <= c.hi));
        }
        CHECK_FALSE(matches(g, "-0"));
        CHECK_FALSE(matches(g, "007"));
    }
    // A lower bound alone: every number of digits above it.
    const Grammar positive = grammar_for_format(ordered_json::parse(R"({"type":"integer","minimum":1})"));
    for (const char* yes : {"1", "9", "10", "123456", "9999999999999999"}) CHECK(matches(positive, yes));
    for (const char* no : {"0", "-1", "-123", "01", "1.5"}) CHECK_FALSE(matches(positive, no));
    // zod's .int(): the safe-integer range, written with every schema it makes.
    const Grammar zod = grammar_for_format(ordered_json::parse(
        R"({"type":"object","properties":{"age":{"type":"integer","minimum":-9007199254740991,"maximum":9007199254740991}},"required":["age"]})"));
    for (const char* yes : {R"({"age":0})", R"({"age":-9007199254740991})", R"({"age":9007199254740991})", R"({"age":42})"})
        CHECK(matches(zod, yes));
    for (const char* no : {R"({"age":9007199254740992})", R"({"age":-9007199254740992})", R"({"age":1.5})"}) CHECK_FALSE(matches(zod, no));
    CHECK(schema_error(R"({"type":"integer","minimum":5,"maximum":4})") == "no integer lies within the bounds (at /)");
    // Numbers: a minimum of 0 forbids the sign; other bounds are not enforced, and said so.
    std::vector<std::string> ignored;
    const Grammar price = grammar_for_format(ordered_json::parse(R"({"type":"number","minimum":0,"maximum":10,"multipleOf":0.5})"), &ignored);
    CHECK(matches(price, "2.5"));
    CHECK(matches(price, "0"));
    CHECK_FALSE(matches(price, "-2.5"));
    CHECK(ignored == std::vector<std::string>{"\"multipleOf\" (at /)", "\"maximum\" of a number (at /)"});
}

TEST_CASE("format schema: string formats date, time, date-time, uuid, email, ipv4") {
    const auto format = [](const char* f) { return grammar_for_format(ordered_json{{"type", "string"}, {"format", f}}); };
    const Grammar date = format("date"), time = format("time"), date_time = format("date-time"), uuid = format("uuid"),
                  email = format("email"), ipv4 = format("ipv4");
    CHECK(matches(date, R"("2026-12-07")"));
    for (const char* no : {R"("2026-13-07")", R"("2026-12-32")", R"("26-12-07")", R"("2026-1-07")", R"("2026-00-10")"}) CHECK_FALSE(matches(date, no));
    for (const char* yes : {R"("09:58:07Z")", R"("23:59:59.123+02:00")", R"("00:00:00-11:30")"}) CHECK(matches(time, yes));
    for (const char* no : {R"("24:00:00Z")", R"("12:60:00Z")", R"("12:00:00")", R"("12:00Z")"}) CHECK_FALSE(matches(time, no));
    CHECK(matches(date_time, R"("2026-12-07T09:58:07.5Z")"));
    CHECK_FALSE(matches(date_time, R"("2026-12-07 09:58:07Z")"));
    CHECK(matches(uuid, R"("123e4567-e89b-12d3-a456-426614174000")"));
    CHECK_FALSE(matches(uuid, R"("123e4567e89b12d3a456426614174000")"));
    for (const char* yes : {R"("tom@example.com")", R"("a.b+c@mail.co.uk")"}) CHECK(matches(email, yes));
    for (const char* no : {R"("tom")", R"("tom@localhost")", R"("@example.com")", R"("to m@example.com")"}) CHECK_FALSE(matches(email, no));
    CHECK(matches(ipv4, R"("192.168.0.255")"));
    for (const char* no : {R"("256.1.1.1")", R"("1.2.3")", R"("01.2.3.4")"}) CHECK_FALSE(matches(ipv4, no));
    // A format the grammar does not know: any string, and a note.
    std::vector<std::string> ignored;
    const Grammar uri = grammar_for_format(ordered_json::parse(R"({"type":"string","format":"uri"})"), &ignored);
    CHECK(matches(uri, R"("not checked")"));
    CHECK(ignored == std::vector<std::string>{"\"format\": \"uri\" (at /)"});
}

TEST_CASE("format schema: a pattern's strings are the ones std::regex finds it in") {
    const char* patterns[] = {"^[a-z]+$", "^\\d{3}-\\d{4}$", "^(ab|cd)*e?$", "^[A-Z][a-z]{1,3}( [A-Z][a-z]{1,3})?$", "b+c",
                              "^[^0-9]{2,}$", "^a.c$", "^\\w+@\\w+\\.com$", "^x(?:yz)+$", "^\\s?q\\S$", "^[\"\\\\]+$", "^[-+]?\\d+(\\.\\d+)?$"};
    std::mt19937 rng(8);
    const std::string alphabet = "abcdeqxyzAZ09-+. @\"\\\t";
    for (const char* pattern_text : patterns) {
        const std::string pattern = pattern_text;
        CAPTURE(pattern);
        const Grammar g = grammar_for_format(ordered_json{{"type", "string"}, {"pattern", pattern}});
        const std::regex re(pattern, std::regex::ECMAScript);
        int found = 0;
        for (int i = 0; i < 3000; ++i) {
            std::string s;
            const int length = static_cast<int>(rng() % 9);
            for (int k = 0; k < length; ++k) s += alphabet[rng() % alphabet.size()];
            if (i % 3 == 0 && length > 0) s = std::string(1, "abc0123 xyz"[rng() % 11]) + s.substr(1);
            const bool expected = std::regex_search(s, re);
            found += expected;
            CAPTURE(s);
            REQUIRE(matches(g, json(s).dump()) == expected);
        }
        for (const char* sample : {"abc", "123-4567", "abcde", "Tom Ab", "abbc", "Tom", "a c", "tom@x.com", "xyzyz", " q!", "\"\\", "-12.5"}) {
            CAPTURE(sample);
            CHECK(matches(g, json(sample).dump()) == std::regex_search(std::string(sample), re));
        }
    }
    // Too deep or too large: not enforced either, and nothing breaks.
    std::string many_quantifiers = "^";
    for (int i = 0; i < 25; ++i) many_quantifiers += "a{0,1000}";
    for (const std::string& huge : {std::string(5000, '(') + "a" + std::string(5000, ')'), many_quantifiers + "$"}) {
        std::vector<std::string> notes;
        const Grammar g = grammar_for_format(ordered_json{{"type", "string"}, {"pattern", huge}}, &notes);
        REQUIRE(notes.size() == 1);
        CHECK(notes[0].find("\"pattern\" (pattern: ") == 0);
        CHECK(matches(g, R"("x")"));
    }
    // Outside the subset: the pattern is not enforced, and said so.
    std::vector<std::string> ignored;
    const Grammar g = grammar_for_format(ordered_json::parse(R"({"type":"string","pattern":"^(a)\\1$"})"), &ignored);
    CHECK(matches(g, R"("anything")"));
    REQUIRE(ignored.size() == 1);
    CHECK(ignored[0] == "\"pattern\" (pattern: the escape \\1 is not supported) (at /)");
}

TEST_CASE("format schema: unknown keywords are left out and listed, malformed schemas are refused with the place") {
    std::vector<std::string> ignored;
    const Grammar g = grammar_for_format(ordered_json::parse(R"({"type":"array","items":{"type":"integer"},"uniqueItems":true,"x-custom":1})"), &ignored);
    CHECK(matches(g, "[1,1]"));
    CHECK(ignored == std::vector<std::string>{"\"uniqueItems\" (at /)", "\"x-custom\" (at /)"});
    // The answer is the value, without whitespace before it.
    CHECK_FALSE(matches(g, " [1]"));
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

}  // namespace test_structured_output
