#include "sequence_batcher.h"

#include <algorithm>
#include <stdexcept>

namespace rockllm {

using Clock = std::chrono::steady_clock;

SequenceBatcher::SequenceBatcher(Transformer& engine, int64_t prefill_chunk)
    : engine_(engine), prefill_chunk_(std::clamp<int64_t>(prefill_chunk, 1, engine.n_batch())) {}

SequenceBatcher::Participant::Participant(SequenceBatcher& batcher) : batcher_(batcher) {
    std::lock_guard lock(batcher_.mutex_);
    ++batcher_.participants_;
}

SequenceBatcher::Participant::~Participant() {
    {
        std::lock_guard lock(batcher_.mutex_);
        --batcher_.participants_;
    }
    batcher_.changed_.notify_all();  // a pass may have been waiting for this one
}

SequenceBatcher::Exclusive::Exclusive(SequenceBatcher& batcher) : batcher_(batcher) {
    std::unique_lock lock(batcher_.mutex_);
    ++batcher_.exclusive_waiting_;
    batcher_.changed_.wait(lock, [&] { return !batcher_.busy_; });
    --batcher_.exclusive_waiting_;
    batcher_.busy_ = true;
}

SequenceBatcher::Exclusive::~Exclusive() {
    {
        std::lock_guard lock(batcher_.mutex_);
        batcher_.busy_ = false;
    }
    batcher_.changed_.notify_all();
}

SequenceBatcher::Counters SequenceBatcher::counters() const {
    std::lock_guard lock(mutex_);
    return counters_;
}

// How long a pass waits for participants still busy with their last token: half the last pass's
// time (a late row costs the others that much; a row left out would cost its sequence a whole
// pass), within bounds.
Clock::time_point SequenceBatcher::deadline() const {
    const auto wait = std::clamp<Clock::duration>(last_pass_ / 2, std::chrono::milliseconds(1), std::chrono::milliseconds(50));
    return waiting_.front()->since + wait;
}

bool SequenceBatcher::ready(Clock::time_point now) const {
    if (busy_ || waiting_.empty() || exclusive_waiting_ > 0) return false;
    return static_cast<int>(waiting_.size()) >= participants_ || now >= deadline();
}

void SequenceBatcher::forward(Sequence& sequence, std::span<const int32_t> tokens, int64_t pos, std::vector<float>& logits) {
    engine_.check_input({&sequence, tokens, pos});  // a bad input fails its own request, not a whole pass
    Pending me{&sequence, tokens, pos, &logits, Clock::now(), false, nullptr};
    std::unique_lock lock(mutex_);
    waiting_.push_back(&me);
    changed_.notify_all();
    while (!me.done) {
        if (ready(Clock::now())) {
            run_pass(lock);
        } else if (!busy_ && exclusive_waiting_ == 0 && !waiting_.empty()) {
            changed_.wait_until(lock, deadline());
        } else {
            changed_.wait(lock);
        }
    }
    if (me.error) std::rethrow_exception(me.error);
}

void SequenceBatcher::run_pass(std::unique_lock<std::mutex>& lock) {
    busy_ = true;
    // First come, first served, up to the batch size; beside other sequences a prompt runs in chunks.
    const bool shared = waiting_.size() > 1 || participants_ > 1;
    const int64_t chunk = shared ? prefill_chunk_ : engine_.n_batch();
    std::vector<Pending*> chosen;
    std::vector<SequenceInput> inputs;
    int64_t rows = 0;
    for (Pending* p : waiting_) {
        const int64_t take = std::min({static_cast<int64_t>(p->tokens.size()), chunk, engine_.n_batch() - rows});
        if (take <= 0) break;
        chosen.push_back(p);
        inputs.push_back({p->sequence, p->tokens.first(static_cast<size_t>(take)), p->pos});
        rows += take;
    }
    lock.unlock();
    const auto start = Clock::now();
    std::exception_ptr error;
    try {
        const std::span<const float> logits = engine_.forward(inputs);
        const size_t n_vocab = logits.size() / inputs.size();
        for (size_t i = 0; i < chosen.size(); ++i)
            if (inputs[i].tokens.size() == chosen[i]->tokens.size())
                chosen[i]->logits->assign(logits.begin() + static_cast<std::ptrdiff_t>(i * n_vocab),
                                          logits.begin() + static_cast<std::ptrdiff_t>((i + 1) * n_vocab));
    } catch (...) {
        error = std::current_exception();
    }
    const auto end = Clock::now();
    lock.lock();
    for (size_t i = 0; i < chosen.size(); ++i) {
        Pending& p = *chosen[i];
        p.tokens = p.tokens.subspan(inputs[i].tokens.size());
        p.pos += static_cast<int64_t>(inputs[i].tokens.size());
        if (p.tokens.empty() || error) {
            p.done = true;
            p.error = error;
        }
    }
    std::erase_if(waiting_, [](const Pending* p) { return p->done; });
    for (Pending* p : waiting_) p->since = end;
    last_pass_ = end - start;
    ++counters_.passes;
    counters_.tokens += rows;
    busy_ = false;
    changed_.notify_all();
}

}  // namespace rockllm
