// Structured outputs: the grammar of the answers a request's "format" allows.
//
// format "json" allows any JSON object; a JSON schema allows the values that validate against it.
// Supported: type (one or a list), properties in the schema's order with required ones mandatory
// and the rest optional, additionalProperties (false is the default when properties are listed;
// true or a schema allow further members), items, minItems/maxItems, minLength/maxLength, enum,
// const, anyOf/oneOf (as alternatives), $ref into #/$defs or #/definitions (recursion allowed).
// Annotations (title, description, default, examples, $schema, $id) are ignored. Any other
// constraint (pattern, format, minimum, uniqueItems, ...) is refused with an error naming it, so a
// schema is never silently weakened.
//
// Numbers have at most 16 integer and 16 fraction digits, and whitespace between tokens is at most
// a newline and 20 spaces or tabs, so that every part of an answer ends. Whitespace may come
// before the value, nothing after it: the answer is over when the value is.
#pragma once

#include <stdexcept>

#include <nlohmann/json.hpp>

#include "grammar/grammar.h"

namespace rockllm {

struct SchemaError : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

// Throws SchemaError for a format that is neither "json" nor a schema this compiler supports.
Grammar grammar_for_format(const nlohmann::ordered_json& format);

}  // namespace rockllm
