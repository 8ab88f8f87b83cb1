// Batched decoding. The concurrent requests of a model each run their own generation loop in their
// own thread (sampling, stop handling and streaming stay there), and the batcher gathers their
// forward calls into shared passes of the model's engine: a decoding step of N sequences reads
// every weight once, which is what a step costs on hardware that streams weights from DRAM. A
// long prompt is run in chunks, each beside the other sequences' decoding tokens, so it does not
// stall them.
//
// There is no scheduling thread: whichever caller finds the engine idle runs the next pass for
// everyone waiting. A pass waits a moment for the sequences still sampling their next token, so
// that they stay in step rather than splitting into groups that take turns.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <span>
#include <vector>

#include "sequence.h"
#include "transformer.h"

namespace rockllm {

class SequenceBatcher {
public:
    // A long prompt beside other sequences goes in chunks of at most prefill_chunk tokens (alone,
    // in chunks of the engine's batch size).
    explicit SequenceBatcher(Transformer& engine, int64_t prefill_chunk = 128);
    SequenceBatcher(const SequenceBatcher&) = delete;
    SequenceBatcher& operator=(const SequenceBatcher&) = delete;

    // A generation in progress: while it exists, a pass waits briefly for its caller's next input.
    class Participant {
    public:
        explicit Participant(SequenceBatcher& batcher);
        ~Participant();
        Participant(const Participant&) = delete;
        Participant& operator=(const Participant&) = delete;

    private:
        SequenceBatcher& batcher_;
    };

    // Runs the tokens of `sequence` at positions pos.. in the coming passes and stores the logits
    // after the last one in `logits`. Each sequence belongs to one caller at a time.
    void forward(Sequence& sequence, std::span<const int32_t> tokens, int64_t pos, std::vector<float>& logits);

    // Runs fn(engine) while no pass runs (embeddings, which read hidden states rather than logits).
    template <class Fn>
    auto exclusive(Fn&& fn) {
        Exclusive guard(*this);
        return fn(engine_);
    }

    Transformer& engine() { return engine_; }

    struct Counters {
        int64_t passes = 0;
        int64_t tokens = 0;  // rows of all passes
    };
    Counters counters() const;

private:
    struct Pending {
        Sequence* sequence;
        std::span<const int32_t> tokens;  // what is left to run
        int64_t pos;
        std::vector<float>* logits;
        std::chrono::steady_clock::time_point since;  // waiting since
        bool done = false;
        std::exception_ptr error;
    };
    class Exclusive {
    public:
        explicit Exclusive(SequenceBatcher& batcher);
        ~Exclusive();

    private:
        SequenceBatcher& batcher_;
    };

    bool ready(std::chrono::steady_clock::time_point now) const;
    std::chrono::steady_clock::time_point deadline() const;
    // Runs one pass over the waiting inputs; called with the lock held, which it releases meanwhile.
    void run_pass(std::unique_lock<std::mutex>& lock);

    Transformer& engine_;
    const int64_t prefill_chunk_;
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<Pending*> waiting_;  // first come, first served
    int participants_ = 0;
    int exclusive_waiting_ = 0;
    bool busy_ = false;  // a pass or an exclusive section runs
    std::chrono::steady_clock::duration last_pass_{};
    Counters counters_;
};

}  // namespace rockllm
