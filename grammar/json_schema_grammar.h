// Structured outputs: the grammar of the answers a request's "format" allows.
//
// format "json" allows any JSON object; a JSON schema allows the values that validate against it.
// Enforced: type (one or a list), properties in the schema's order with required ones mandatory
// and the rest optional, additionalProperties (false is the default when properties are listed;
// true or a schema allow further members), items, minItems/maxItems, minLength/maxLength, enum,
// const, anyOf/oneOf (as alternatives), $ref into #/$defs or #/definitions (recursion allowed),
// minimum/maximum/exclusiveMinimum/exclusiveMaximum of integers (zod's .int() writes them always),
// a minimum of 0 for numbers (no sign), format date, time, date-time, uuid, email, ipv4, and
// pattern (grammar/pattern_grammar.h). Annotations (title, description, ...) are ignored. What the
// grammar cannot enforce (multipleOf, other number bounds, other formats, uniqueItems, patterns
// outside the subset, unknown keywords) is left out, as Ollama does, and listed in `ignored` so
// that the server can log it.
//
// Numbers have at most 16 integer and 16 fraction digits, and whitespace between tokens is at most
// a newline and 20 spaces or tabs, so that every part of an answer ends. The answer is the value:
// nothing before it, nothing after it.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "grammar/grammar.h"

namespace rockllm {

struct SchemaError : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

// Throws SchemaError for a format that is neither "json" nor a schema this compiler supports.
Grammar grammar_for_format(const nlohmann::ordered_json& format, std::vector<std::string>* ignored = nullptr);

}  // namespace rockllm
