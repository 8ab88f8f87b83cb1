// The Modelfile parser, GGUF-derived details, and keep_alive durations.
#include <doctest/doctest.h>

#include "api/keep_alive.h"
#include "llm/gguf.h"
#include "models/model_details.h"
#include "models/modelfile.h"
#include "test_support.h"

namespace test_modelfile {

using namespace rockllm;
using nlohmann::json;

TEST_SUITE_BEGIN("unit");

TEST_CASE("Modelfile: instructions, quoting, multi-line blocks, comments") {
    const Modelfile m = parse_modelfile(R"(# a comment
FROM ./stories260K.gguf
from   llama3.2   
PARAMETER temperature 0.7
parameter stop "<|eot_id|>"
PARAMETER stop "line\nbreak"
PARAMETER num_ctx 8192
TEMPLATE """{{ if .System }}<|system|>
{{ .System }}{{ end }}"""
SYSTEM You are "terse".
MESSAGE user Is the sky blue?
MESSAGE assistant """Yes,
mostly."""
LICENSE """MIT"""
LICENSE Apache-2.0
)");
    CHECK(m.from == "llama3.2");  // the last FROM wins
    CHECK(m.template_text == "{{ if .System }}<|system|>\n{{ .System }}{{ end }}");
    CHECK(m.system == "You are \"terse\".");
    REQUIRE(m.messages.size() == 2);
    CHECK(m.messages[1] == std::pair<std::string, std::string>{"assistant", "Yes,\nmostly."});
    CHECK(m.licenses == std::vector<std::string>{"MIT", "Apache-2.0"});
    const json params = parameters_to_json(m.parameters);
    CHECK(params == json{{"temperature", 0.7}, {"stop", {"<|eot_id|>", "line\nbreak"}}, {"num_ctx", 8192}});
    CHECK(params["num_ctx"].is_number_integer());
}

TEST_CASE("Modelfile: errors name the line") {
    CHECK_THROWS_WITH_AS(parse_modelfile("PARAMETER top_k 4\n"), "no FROM line", ModelfileError);
    CHECK_THROWS_WITH_AS(parse_modelfile("FROM x\nBOGUS y\n"),
                         doctest::Contains("Modelfile line 2: command must be one of"), ModelfileError);
    CHECK_THROWS_WITH_AS(parse_modelfile("FROM x\nTEMPLATE \"\"\"never closed\n"), doctest::Contains("unterminated"), ModelfileError);
    CHECK_THROWS_WITH_AS(parse_modelfile("FROM x\nSYSTEM \"open\nMESSAGE user x\n"), doctest::Contains("line 2"), ModelfileError);
    CHECK_THROWS_WITH_AS(parse_modelfile("FROM x\nMESSAGE robot hi\n"), doctest::Contains("MESSAGE role"), ModelfileError);
    CHECK_THROWS_AS(parameters_to_json({{"top_k", "many"}}), ModelfileError);
    CHECK_THROWS_AS(parameters_to_json({{"temperature", "0.7x"}}), ModelfileError);
    CHECK_THROWS_AS(parameters_to_json({{"no_such_option", "1"}}), ModelfileError);
}

TEST_CASE("details: Ollama's parameter sizes and file type names, metadata for /api/show") {
    CHECK(human_parameter_count(292800) == "292.80K");
    CHECK(human_parameter_count(494032768) == "494.03M");
    CHECK(human_parameter_count(3212749824) == "3.2B");
    CHECK(human_parameter_count(8000000000) == "8B");
    CHECK(human_parameter_count(999) == "999");
    CHECK(file_type_name(15) == "Q4_K_M");
    CHECK(file_type_name(7) == "Q8_0");
    CHECK(file_type_name(32) == "BF16");
    CHECK(file_type_name(4) == "unknown");
    CHECK(file_type_name(1000) == "unknown");

    const gguf::File file = gguf::File::open(test::testdata("models/stories260K.gguf"));
    const auto config = config_from_gguf(file);
    CHECK(config["model_family"] == "llama");
    CHECK(config["model_type"] == "292.80K");
    const auto info = gguf_model_info(file, false);
    CHECK(info["general.architecture"] == "llama");
    CHECK(info["llama.block_count"] == 5);
    CHECK(info["general.parameter_count"] == 292800);
    CHECK_FALSE(info.contains("general.name"));
}

TEST_CASE("keep_alive: Go durations, seconds, negative is forever") {
    using namespace std::chrono;
    CHECK(parse_go_duration("5m") == minutes(5));
    CHECK(parse_go_duration("1h30m") == minutes(90));
    CHECK(parse_go_duration("300ms") == milliseconds(300));
    CHECK(parse_go_duration("1.5s") == milliseconds(1500));
    CHECK(parse_go_duration("-1m") == minutes(-1));
    CHECK(parse_go_duration("0") == nanoseconds(0));
    CHECK(parse_go_duration("2us") == microseconds(2));
    CHECK_THROWS_WITH(parse_go_duration("3600"), "time: missing unit in duration \"3600\"");
    CHECK_THROWS_WITH(parse_go_duration(""), "time: invalid duration \"\"");
    CHECK_THROWS_WITH(parse_go_duration("5 m"), doctest::Contains("unknown unit"));
    CHECK_THROWS(parse_go_duration("m"));
    CHECK_THROWS(parse_go_duration("."));

    CHECK(keep_alive_from_json(json{{"keep_alive", 30}})->duration == seconds(30));
    CHECK(keep_alive_from_json(json{{"keep_alive", -1}})->forever);
    CHECK(keep_alive_from_json(json{{"keep_alive", "-5m"}})->forever);
    CHECK(keep_alive_from_json(json{{"keep_alive", 0}})->is_zero());
    CHECK(keep_alive_from_json(json{{"keep_alive", "0s"}})->is_zero());
    CHECK_FALSE(keep_alive_from_json(json::object()).has_value());
    CHECK_THROWS_AS(keep_alive_from_json(json{{"keep_alive", true}}), std::invalid_argument);
    CHECK(keep_alive_from_env("").duration == minutes(5));
    CHECK(keep_alive_from_env("3600").duration == hours(1));  // the variable accepts bare seconds
    CHECK(keep_alive_from_env("-1").forever);
    CHECK(keep_alive_from_env("24h").duration == hours(24));
}

TEST_SUITE_END();

}  // namespace test_modelfile
