// Re-quantizing an F32 GGUF as `create --quantize` does: each tensor's type as llama.cpp picks it
// for the mix, and the re-quantized stories260K still computing llama2.c's reference logits closely.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "llm/gguf_requantize.h"
#include "llm/gguf_writer.h"
#include "llm/model.h"
#include "llm/quant/quantize.h"
#include "llm/transformer.h"
#include "test_support.h"

namespace test_gguf_requantize {

using namespace rockllm;
using rockllm::test::testdata;

TEST_SUITE_BEGIN("unit");

namespace {

// A header-only model of 8 layers whose rows fit K blocks (256) unless told otherwise.
gguf::File eight_layers(int64_t row, bool with_output) {
    gguf::Writer w;
    w.set("general.architecture", "llama");
    w.set("llama.block_count", uint32_t{8});
    w.set("general.file_type", uint32_t{0});
    const std::vector<float> values(static_cast<size_t>(row) * 2, 0.5f);
    w.add_tensor_f32("token_embd.weight", {row, 2}, values);
    for (int l = 0; l < 8; ++l)
        for (const char* t : {"attn_q", "attn_v", "ffn_down"})
            w.add_tensor_f32("blk." + std::to_string(l) + "." + t + ".weight", {row, 2}, values);
    w.add_tensor_f32("blk.0.attn_norm.weight", {row}, std::vector<float>(static_cast<size_t>(row), 1.0f));
    if (with_output) w.add_tensor_f32("output.weight", {row, 2}, values);
    return gguf::File::parse(w.to_bytes());
}

GgmlType type_of(const gguf::File& f, const std::string& name, gguf::QuantizeMix mix) {
    const gguf::TensorInfo* t = f.find_tensor(name);
    REQUIRE(t);
    return gguf::requantized_type(f, *t, mix);
}

std::string scratch_file(const std::string& name) {
    return (std::filesystem::temp_directory_path() / ("rockllm-requantize-" + std::to_string(::getpid()) + "-" + name)).string();
}

}  // namespace

TEST_CASE("requantize: each tensor's type follows llama.cpp's choice for the mix") {
    using gguf::QuantizeMix;
    const gguf::File f = eight_layers(256, /*with_output=*/true);
    CHECK(type_of(f, "token_embd.weight", QuantizeMix::Q4_K_M) == GgmlType::Q4_K);
    CHECK(type_of(f, "output.weight", QuantizeMix::Q4_K_M) == GgmlType::Q6_K);
    CHECK(type_of(f, "output.weight", QuantizeMix::Q8_0) == GgmlType::Q8_0);
    CHECK(type_of(f, "blk.0.attn_norm.weight", QuantizeMix::Q4_K_M) == GgmlType::F32);  // vectors stay
    CHECK(type_of(f, "blk.2.attn_q.weight", QuantizeMix::Q4_K_M) == GgmlType::Q4_K);
    // Q4_K_M: attn_v and ffn_down of layers 0, 3, 6, 7 (of 8) get Q6_K.
    for (int l = 0; l < 8; ++l) {
        CAPTURE(l);
        const bool more = l == 0 || l == 3 || l == 6 || l == 7;
        CHECK(type_of(f, "blk." + std::to_string(l) + ".attn_v.weight", QuantizeMix::Q4_K_M) == (more ? GgmlType::Q6_K : GgmlType::Q4_K));
        CHECK(type_of(f, "blk." + std::to_string(l) + ".ffn_down.weight", QuantizeMix::Q4_K_M) == (more ? GgmlType::Q6_K : GgmlType::Q4_K));
        // Q4_K_S: attn_v of the first four layers and ffn_down of the first eighth get Q5_K.
        CHECK(type_of(f, "blk." + std::to_string(l) + ".attn_v.weight", QuantizeMix::Q4_K_S) == (l < 4 ? GgmlType::Q5_K : GgmlType::Q4_K));
        CHECK(type_of(f, "blk." + std::to_string(l) + ".ffn_down.weight", QuantizeMix::Q4_K_S) == (l < 1 ? GgmlType::Q5_K : GgmlType::Q4_K));
    }
    // Tied embeddings: the token embedding is the output matrix.
    const gguf::File tied = eight_layers(256, /*with_output=*/false);
    CHECK(type_of(tied, "token_embd.weight", QuantizeMix::Q4_K_M) == GgmlType::Q6_K);
    // Rows that K blocks do not fit fall back as in llama.cpp.
    const gguf::File narrow = eight_layers(64, /*with_output=*/true);
    CHECK(type_of(narrow, "blk.2.attn_q.weight", QuantizeMix::Q4_K_M) == GgmlType::Q5_0);
    CHECK(type_of(narrow, "output.weight", QuantizeMix::Q4_K_M) == GgmlType::Q8_0);
    CHECK(type_of(narrow, "blk.0.attn_v.weight", QuantizeMix::Q4_K_S) == GgmlType::Q5_1);

    CHECK(gguf::parse_quantize_mix("q4_K_M") == QuantizeMix::Q4_K_M);
    CHECK(gguf::parse_quantize_mix("Q4_K") == QuantizeMix::Q4_K_M);
    CHECK(gguf::parse_quantize_mix("q4_k_s") == QuantizeMix::Q4_K_S);
    CHECK(gguf::parse_quantize_mix("q8_0") == QuantizeMix::Q8_0);
    CHECK_THROWS_WITH_AS(gguf::parse_quantize_mix("q2_K"), "unsupported quantization type Q2_K - supported types are Q4_K_S, Q4_K_M, Q8_0",
                         std::invalid_argument);
}

TEST_CASE("requantize: the re-quantized stories260K keeps llama2.c's logits close and its greedy choices") {
    const auto reference = nlohmann::json::parse(test::read_text(testdata("models/stories260K.logits.json")));
    const gguf::File original = gguf::File::open(testdata("models/stories260K.gguf"));
    struct Expectation {
        gguf::QuantizeMix mix;
        uint32_t file_type;
        double max_error;  // relative to the row's largest logit
    };
    for (const Expectation& e : {Expectation{gguf::QuantizeMix::Q8_0, 7, 0.02}, Expectation{gguf::QuantizeMix::Q4_K_M, 15, 0.15}}) {
        CAPTURE(gguf::quantize_mix_name(e.mix));
        const std::string path = scratch_file(gguf::quantize_mix_name(e.mix) + ".gguf");
        gguf::requantize(original, e.mix, path);
        auto file = std::make_shared<const gguf::File>(gguf::File::open(path));
        CHECK(file->metadata().get<uint32_t>("general.file_type") == e.file_type);
        CHECK(file->metadata().get<std::string>("tokenizer.ggml.model") == original.metadata().get<std::string>("tokenizer.ggml.model"));
        CHECK(file->find_tensor("blk.0.attn_q.weight")->type == (e.mix == gguf::QuantizeMix::Q8_0 ? GgmlType::Q8_0 : GgmlType::Q5_0));
        CHECK(file->find_tensor("blk.0.attn_norm.weight")->type == GgmlType::F32);

        const Model model = Model::load(file);
        TransformerOptions options;
        options.n_ctx = 64;
        options.kv_type = GgmlType::F32;
        Transformer transformer(model, options);
        int same_choice = 0;
        double worst = 0;
        for (const auto& row : reference.at("rows")) {
            const auto logits = transformer.forward(row.at("input_token").get<int32_t>(), row.at("pos").get<int64_t>());
            const auto expected = row.at("logits").get<std::vector<float>>();
            REQUIRE(logits.size() == expected.size());
            double scale = 0;
            for (float v : expected) scale = std::max(scale, std::abs(double(v)));
            for (size_t i = 0; i < expected.size(); ++i) worst = std::max(worst, std::abs(double(logits[i]) - expected[i]) / scale);
            same_choice += std::max_element(logits.begin(), logits.end()) - logits.begin() ==
                           std::max_element(expected.begin(), expected.end()) - expected.begin();
        }
        MESSAGE(gguf::quantize_mix_name(e.mix) << ": worst logit error " << worst << " of the row's largest; "
                                               << same_choice << "/5 greedy choices as the reference");
        CHECK(worst < e.max_error);
        CHECK(worst > 0);  // it was quantized
        CHECK(same_choice == 5);
        std::filesystem::remove(path);
    }
}

TEST_CASE("requantize: an already quantized model is refused") {
    const gguf::File original = gguf::File::open(testdata("models/stories260K.gguf"));
    const std::string path = scratch_file("q8.gguf");
    gguf::requantize(original, gguf::QuantizeMix::Q8_0, path);
    const gguf::File quantized = gguf::File::open(path);
    CHECK_THROWS_WITH_AS(gguf::requantize(quantized, gguf::QuantizeMix::Q4_K_M, scratch_file("again.gguf")),
                         "quantization is only supported for F16, BF16 and F32 models", std::invalid_argument);
    CHECK_FALSE(std::filesystem::exists(scratch_file("again.gguf")));
    std::filesystem::remove(path);
}

TEST_SUITE_END();

}  // namespace test_gguf_requantize
