// What the sampler asks of a constraint on the next token (structured outputs implement it in
// grammar/): the engine knows the interface, not the grammar behind it.
#pragma once

#include <cstdint>
#include <span>

namespace rockllm {

class TokenFilter {
public:
    virtual ~TokenFilter() = default;
    virtual bool allows(int32_t token) = 0;
    // Sets the logits of refused tokens to -infinity; false when no token is allowed.
    virtual bool mask(std::span<float> logits) = 0;
    // Follows a token that was allowed.
    virtual void accept(int32_t token) = 0;
    // Nothing may follow what was accepted: generation ends.
    virtual bool finished() const = 0;
};

}  // namespace rockllm
