// Sampling options with Ollama's semantics, and stop sequences across token boundaries.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <stdexcept>

#include "llm/sampler.h"
#include "llm/stop_sequences.h"

namespace test_sampler {

using namespace rockllm;

namespace {

SamplerOptions opts(float temperature, uint64_t seed = 1) {
    SamplerOptions o;
    o.temperature = temperature;
    o.seed = seed;
    return o;
}

std::map<int32_t, int> histogram(Sampler& s, const std::vector<float>& logits, int draws) {
    std::map<int32_t, int> h;
    for (int i = 0; i < draws; ++i) ++h[s.sample(logits)];
    return h;
}

}  // namespace

TEST_SUITE_BEGIN("unit");

TEST_CASE("sampler: temperature 0 is greedy whatever the other options") {
    const std::vector<float> logits = {0.1f, 2.5f, 2.4f, -1.0f};
    SamplerOptions o = opts(0.0f);
    o.top_k = 1000;
    o.top_p = 0.5f;
    Sampler s(o);
    for (int i = 0; i < 10; ++i) CHECK(s.sample(logits) == 1);
}

TEST_CASE("sampler: draws follow softmax(logits / temperature)") {
    const std::vector<float> logits = {0.0f, 1.0f, 2.0f};
    SamplerOptions o = opts(1.0f, 77);
    o.top_k = 0;
    o.top_p = 1.0f;
    Sampler s(o);
    const int draws = 20000;
    const auto h = histogram(s, logits, draws);
    const double z = 1 + std::exp(1.0) + std::exp(2.0);
    for (int id = 0; id < 3; ++id) {
        const double expected = std::exp(double(logits[id])) / z * draws;
        // Far beyond 5 standard deviations would be a real bug, not chance (and the seed is fixed).
        const double got = h.count(id) ? h.at(id) : 0;
        CHECK(std::abs(got - expected) < 5 * std::sqrt(expected) + 1);
    }
    // A higher temperature flattens the distribution.
    SamplerOptions hot = o;
    hot.temperature = 5.0f;
    Sampler hs(hot);
    const auto hh = histogram(hs, logits, draws);
    CHECK(hh.at(0) > h.at(0));
}

TEST_CASE("sampler: top_k, top_p and min_p limit the candidates") {
    const std::vector<float> logits = {3.0f, 2.9f, 2.8f, 0.0f, -1.0f};
    SamplerOptions k2 = opts(2.0f, 3);
    k2.top_k = 2;
    k2.top_p = 1.0f;
    Sampler s1(k2);
    for (const auto& [id, n] : histogram(s1, logits, 2000)) CHECK((id == 0 || id == 1));

    SamplerOptions p = opts(1.0f, 4);
    p.top_k = 0;
    p.top_p = 0.01f;  // only the most likely token survives
    Sampler s2(p);
    CHECK(histogram(s2, logits, 200).size() == 1);

    SamplerOptions m = opts(1.0f, 5);
    m.top_k = 0;
    m.top_p = 1.0f;
    m.min_p = 0.5f;  // keeps tokens with p >= half of the best: ids 0, 1, 2
    Sampler s3(m);
    for (const auto& [id, n] : histogram(s3, logits, 2000)) CHECK(id <= 2);

    SamplerOptions t = opts(1.0f, 6);
    t.top_k = 0;
    t.top_p = 1.0f;
    t.typical_p = 0.2f;
    Sampler s4(t);
    CHECK(histogram(s4, logits, 500).size() <= 2);
}

TEST_CASE("sampler: repeat, presence and frequency penalties change the logits as llama.cpp does") {
    // Token 0 leads by a little; once it is in the history, penalties must hand the win to token 1.
    const std::vector<float> logits = {2.0f, 1.9f, -1.0f};
    SamplerOptions r = opts(0.0f);
    r.repeat_penalty = 1.1f;  // 2.0 / 1.1 = 1.818 < 1.9
    Sampler s(r);
    s.accept(0);
    CHECK(s.sample(logits) == 1);

    SamplerOptions neg = opts(0.0f);
    neg.repeat_penalty = 2.0f;  // negative logits are multiplied: -1 * 2 = -2 (pushed further down)
    const std::vector<float> negative = {-1.0f, -1.5f};
    Sampler sn(neg);
    sn.accept(0);
    CHECK(sn.sample(negative) == 1);

    SamplerOptions f = opts(0.0f);
    f.frequency_penalty = 0.06f;  // two occurrences: 2.0 - 0.12 = 1.88 < 1.9
    Sampler sf(f);
    sf.accept(0);
    CHECK(sf.sample(logits) == 0);  // one occurrence: 1.94 still wins (and now it counts twice)
    CHECK(sf.sample(logits) == 1);

    SamplerOptions p = opts(0.0f);
    p.presence_penalty = 0.2f;
    Sampler sp(p);
    sp.accept(0);
    CHECK(sp.sample(logits) == 1);

    // Only the last repeat_last_n tokens count.
    SamplerOptions window = opts(0.0f);
    window.repeat_penalty = 1.5f;
    window.repeat_last_n = 2;
    Sampler sw(window);
    sw.accept(0);
    sw.accept(2);
    sw.accept(2);  // token 0 has left the window
    CHECK(sw.sample(logits) == 0);
}

TEST_CASE("sampler: same seed, same options -> same tokens, invalid options are rejected") {
    std::vector<float> logits(100);
    for (size_t i = 0; i < logits.size(); ++i) logits[i] = std::sin(float(i)) * 3;
    auto run = [&](uint64_t seed) {
        Sampler s(opts(0.9f, seed));
        std::vector<int32_t> out;
        for (int i = 0; i < 50; ++i) out.push_back(s.sample(logits));
        return out;
    };
    CHECK(run(42) == run(42));
    CHECK(run(42) != run(43));
    SamplerOptions bad = opts(1.0f);
    bad.top_p = 1.5f;
    CHECK_THROWS_AS(Sampler{bad}, std::invalid_argument);
    bad = opts(-0.1f);
    CHECK_THROWS_AS(Sampler{bad}, std::invalid_argument);
    bad = opts(1.0f);
    bad.repeat_penalty = 0.0f;
    CHECK_THROWS_AS(Sampler{bad}, std::invalid_argument);
}

TEST_CASE("stop sequences: spanning pieces, never emitting a partial stop string") {
    StopSequenceFilter f({"</answer>", "STOP"});
    std::string out;
    for (const char* piece : {"The result", " is 4", "</ans", "wer> and more"}) out += f.push(piece);
    CHECK(f.stopped());
    CHECK(out == "The result is 4");
    CHECK(f.push("ignored").empty());
    CHECK(f.flush().empty());

    // Text that only looked like the beginning of a stop string is released later.
    StopSequenceFilter g({"STOP"});
    CHECK(g.push("ST") == "");
    CHECK(g.push("ART") == "START");
    CHECK(g.push("abcS") == "abc");
    CHECK(g.flush() == "S");
    CHECK(!g.stopped());

    // The earliest stop string wins.
    StopSequenceFilter h({"cd", "b"});
    CHECK(h.push("abcd") == "a");
    StopSequenceFilter none({});
    CHECK(none.push("anything") == "anything");
}

TEST_SUITE_END();

}  // namespace test_sampler
