#include "stop_sequences.h"

#include <algorithm>

namespace rockllm {

StopSequenceFilter::StopSequenceFilter(std::vector<std::string> stops) : stops_(std::move(stops)) {
    std::erase_if(stops_, [](const std::string& s) { return s.empty(); });
}

std::string StopSequenceFilter::push(std::string_view text) {
    if (stopped_) return {};
    pending_.append(text);
    // The earliest complete stop string ends generation.
    size_t first = std::string::npos;
    for (const std::string& stop : stops_) first = std::min(first, pending_.find(stop));
    if (first != std::string::npos) {
        stopped_ = true;
        std::string out = pending_.substr(0, first);
        pending_.clear();
        return out;
    }
    // Hold back the longest tail that is the beginning of some stop string.
    size_t hold = 0;
    for (const std::string& stop : stops_) {
        for (size_t n = std::min(stop.size() - 1, pending_.size()); n > hold; --n) {
            if (pending_.compare(pending_.size() - n, n, stop, 0, n) == 0) {
                hold = n;
                break;
            }
        }
    }
    std::string out = pending_.substr(0, pending_.size() - hold);
    pending_.erase(0, pending_.size() - hold);
    return out;
}

std::string StopSequenceFilter::flush() {
    if (stopped_) return {};
    std::string out;
    out.swap(pending_);
    return out;
}

}  // namespace rockllm
