// Joins token pieces into text that can be written out as it comes: a UTF-8 character split across
// byte tokens is held back until its last byte arrives.
#pragma once

#include <string>
#include <string_view>

namespace rockllm {

class Utf8Stream {
public:
    // Appends bytes and returns the part that is now complete.
    std::string push(std::string_view bytes);
    // Whatever is still held back (an incomplete character at the end of generation).
    std::string flush();

private:
    std::string pending_;
};

// Length of the longest prefix of s that does not end inside an unfinished UTF-8 sequence.
size_t complete_utf8_prefix(std::string_view s);

}  // namespace rockllm
