// Identifiers for API objects (tool calls, completions, responses) and the wall-clock seconds the
// OpenAI-shaped answers carry. Ids need only be unlikely to repeat, not unguessable.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rockllm {

inline constexpr std::string_view kDigits = "0123456789";
inline constexpr std::string_view kHexDigits = "0123456789abcdef";
inline constexpr std::string_view kLowercaseAndDigits = "abcdefghijklmnopqrstuvwxyz0123456789";

// prefix followed by `length` characters drawn from alphabet.
std::string random_id(std::string_view prefix, std::string_view alphabet, int length);

// Seconds since the Unix epoch.
int64_t unix_seconds();

}  // namespace rockllm
