// Stops generation at any of a set of strings, which may span token boundaries: text that could
// still become a stop string is held back, and neither a stop string nor anything after it is emitted.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace rockllm {

class StopSequenceFilter {
public:
    explicit StopSequenceFilter(std::vector<std::string> stops);

    // Feeds generated text; returns the part that is now certain to be output.
    std::string push(std::string_view text);
    // At the end of generation: whatever was held back (when no stop string completed).
    std::string flush();
    bool stopped() const { return stopped_; }

private:
    std::vector<std::string> stops_;
    std::string pending_;
    bool stopped_ = false;
};

}  // namespace rockllm
