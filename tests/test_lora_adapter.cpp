// LoRA adapters merged at load: stories260K with an adapter computes the logits of a model whose
// weights were merged beforehand (here, in double precision, by the test itself), and adapters
// that do not fit are refused with the reason.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <tuple>

#include "llm/gguf_writer.h"
#include "llm/lora_adapter.h"
#include "llm/model.h"
#include "llm/transformer.h"
#include "test_support.h"

namespace test_lora_adapter {

using namespace rockllm;
using rockllm::test::testdata;
using rockllm::test::LoraTestAdapter;
using rockllm::test::make_lora_adapter;
using rockllm::test::merged_by_hand;

TEST_SUITE_BEGIN("unit");

namespace {

std::vector<float> logits_after(const Model& model, const std::vector<int32_t>& tokens) {
    TransformerOptions o;
    o.n_ctx = 32;
    o.kv_type = GgmlType::F32;
    Transformer t(model, o);
    std::vector<float> last;
    for (size_t i = 0; i < tokens.size(); ++i) {
        const auto logits = t.forward(tokens[i], static_cast<int64_t>(i));
        last.assign(logits.begin(), logits.end());
    }
    return last;
}

}  // namespace

TEST_CASE("lora: an adapter merged at load gives the logits of the weights merged beforehand") {
    const auto base = std::make_shared<const gguf::File>(gguf::File::open(testdata("models/stories260K.gguf")));
    const float alpha = 16.0f;
    const LoraTestAdapter adapter = make_lora_adapter(*base, {{"blk.0.attn_q.weight", 4}, {"blk.2.ffn_down.weight", 8}, {"blk.4.attn_v.weight", 2}}, alpha);
    const auto adapter_file = std::make_shared<const gguf::File>(gguf::File::parse(adapter.bytes));
    const LoraAdapter lora = LoraAdapter::open(adapter_file, "llama");
    CHECK(lora.adapts("blk.0.attn_q.weight"));
    CHECK_FALSE(lora.adapts("blk.1.attn_q.weight"));

    const Model adapted = Model::load(base, &lora);
    const Model expected = Model::load(std::make_shared<const gguf::File>(gguf::File::parse(merged_by_hand(*base, adapter, alpha))));
    const Model plain = Model::load(base);
    const std::vector<int32_t> tokens = {1, 403, 407, 261, 378};
    const std::vector<float> got = logits_after(adapted, tokens), want = logits_after(expected, tokens), before = logits_after(plain, tokens);
    double worst = 0, changed = 0;
    for (size_t i = 0; i < got.size(); ++i) {
        worst = std::max(worst, std::abs(double(got[i]) - want[i]));
        changed = std::max(changed, std::abs(double(before[i]) - want[i]));
    }
    MESSAGE("largest logit difference from the hand-merged model: " << worst << "; the adapter moves logits by up to " << changed);
    CHECK(worst < 1e-4);
    CHECK(changed > 1e-2);  // the adapter did something
}

TEST_CASE("lora: adapters that do not fit the model are refused with the reason") {
    const auto base = std::make_shared<const gguf::File>(gguf::File::open(testdata("models/stories260K.gguf")));
    const auto open = [&](const std::vector<uint8_t>& bytes, const std::string& arch) {
        return LoraAdapter::open(std::make_shared<const gguf::File>(gguf::File::parse(bytes)), arch);
    };
    const LoraTestAdapter good = make_lora_adapter(*base, {{"blk.0.attn_q.weight", 4}}, 8.0f);
    CHECK_THROWS_WITH_AS(open(good.bytes, "qwen2"), "the adapter is for llama, the model is qwen2", gguf::FormatError);
    CHECK_THROWS_AS(open(make_lora_adapter(*base, {{"blk.0.attn_q.weight", 4}}, 8.0f, "gemma2").bytes, "llama"), gguf::FormatError);

    // An adapter of the given tensors (name, ggml shape), every value 0.1.
    const auto adapter_of = [&](const std::vector<std::tuple<std::string, std::vector<int64_t>>>& tensors) {
        gguf::Writer w;
        w.set("general.architecture", "llama");
        w.set("general.type", "adapter");
        w.set("adapter.type", "lora");
        for (const auto& [name, shape] : tensors) w.add_tensor_f32(name, shape, std::vector<float>(static_cast<size_t>(shape[0] * shape[1]), 0.1f));
        return w.to_bytes();
    };
    // A tensor the model lacks.
    const LoraAdapter lost = open(adapter_of({{"blk.9.attn_q.weight.lora_a", {64, 2}}, {"blk.9.attn_q.weight.lora_b", {2, 64}}}), "llama");
    CHECK_THROWS_WITH_AS(Model::load(base, &lost), "the adapter changes 'blk.9.attn_q.weight', which the model does not have",
                         gguf::FormatError);
    // Ranks that disagree, and a pair without its other half.
    CHECK_THROWS_AS(open(adapter_of({{"blk.0.attn_q.weight.lora_a", {64, 2}}, {"blk.0.attn_q.weight.lora_b", {3, 64}}}), "llama"),
                    gguf::FormatError);
    CHECK_THROWS_AS(open(adapter_of({{"blk.0.attn_q.weight.lora_a", {64, 2}}}), "llama"), gguf::FormatError);
    // The wrong shape for the matrix it names (n_in 32 for a 64-wide matrix).
    const LoraAdapter misfit = open(adapter_of({{"blk.0.attn_q.weight.lora_a", {32, 2}}, {"blk.0.attn_q.weight.lora_b", {2, 64}}}), "llama");
    CHECK_THROWS_AS(Model::load(base, &misfit), gguf::FormatError);
    // Not an adapter at all.
    CHECK_THROWS_WITH_AS(LoraAdapter::open(base, "llama"), "the adapter is not a GGUF adapter (general.type)", gguf::FormatError);
}

TEST_SUITE_END();

}  // namespace test_lora_adapter
