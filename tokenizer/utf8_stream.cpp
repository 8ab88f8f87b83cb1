#include "tokenizer/utf8_stream.h"

#include <cstdint>

namespace rockllm {

size_t complete_utf8_prefix(std::string_view s) {
    // Look back at most 3 bytes for the lead byte of a sequence that is not finished yet.
    const size_t n = s.size();
    for (size_t back = 1; back <= 3 && back <= n; ++back) {
        const auto c = static_cast<uint8_t>(s[n - back]);
        if ((c & 0xc0) == 0x80) continue;  // continuation byte: keep looking for the lead byte
        size_t length = 1;
        if ((c & 0xe0) == 0xc0) length = 2;
        else if ((c & 0xf0) == 0xe0) length = 3;
        else if ((c & 0xf8) == 0xf0) length = 4;
        return length > back ? n - back : n;
    }
    return n;  // ASCII, or stray continuation bytes: nothing to wait for
}

std::string Utf8Stream::push(std::string_view bytes) {
    pending_.append(bytes);
    const size_t ready = complete_utf8_prefix(pending_);
    std::string out = pending_.substr(0, ready);
    pending_.erase(0, ready);
    return out;
}

std::string Utf8Stream::flush() {
    std::string out;
    out.swap(pending_);
    return out;
}

}  // namespace rockllm
