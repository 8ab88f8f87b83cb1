#include "synthetic_model.h"

#include <cmath>
#include <stdexcept>

#include "gguf_requantize.h"
#include "bert_model.h"
#include "gguf_writer.h"
#include "layer_tensors.h"
#include "llm/quant/quantize.h"

namespace rockllm {

const std::vector<SyntheticShape>& synthetic_shapes() {
    static const std::vector<SyntheticShape> shapes = {
        // name, arch, n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_vocab, n_ctx, rope base, tied
        {"llama-415m", "llama", 896, 24, 14, 2, 64, 4864, 32000, 4096, 10000.0f, false},
        {"qwen2.5-0.5b", "qwen2", 896, 24, 14, 2, 64, 4864, 151936, 32768, 1000000.0f, true},
        {"qwen2.5-1.5b", "qwen2", 1536, 28, 12, 2, 128, 8960, 151936, 32768, 1000000.0f, true},
        {"qwen3-0.6b", "qwen3", 1024, 28, 16, 8, 128, 3072, 151936, 40960, 1000000.0f, true},
        {"llama-3.2-1b", "llama", 2048, 16, 32, 8, 64, 8192, 128256, 131072, 500000.0f, true},
        {"tinyllama-1.1b", "llama", 2048, 22, 32, 4, 64, 5632, 32000, 2048, 10000.0f, false},
        // Small enough for unit tests.
        {"tiny-llama", "llama", 256, 2, 4, 2, 64, 512, 512, 512, 10000.0f, false},
        {"tiny-qwen2", "qwen2", 256, 2, 4, 2, 64, 512, 512, 512, 1000000.0f, true},
        {"tiny-qwen3", "qwen3", 256, 2, 4, 2, 128, 512, 512, 512, 1000000.0f, true},
        {"tiny-gemma2", "gemma2", 256, 3, 4, 2, 64, 512, 512, 512, 10000.0f, true},
        {"tiny-gemma3", "gemma3", 256, 7, 4, 1, 64, 512, 512, 512, 1000000.0f, true},
        {"tiny-phi3", "phi3", 256, 2, 4, 4, 64, 512, 512, 512, 10000.0f, false},
        {"gemma3-1b", "gemma3", 1152, 26, 4, 1, 256, 6912, 262144, 32768, 1000000.0f, true},
        {"phi3-mini-4k", "phi3", 3072, 32, 32, 32, 96, 8192, 32064, 4096, 10000.0f, false},
        // Embedding models (BERT-family encoders): all-minilm, mxbai-embed-large, nomic-embed-text v1.5.
        {"all-minilm", "bert", 384, 6, 12, 12, 32, 1536, 30522, 512, 10000.0f, true, 1},
        {"mxbai-embed-large", "bert", 1024, 24, 16, 16, 64, 4096, 30522, 512, 10000.0f, true, 2},
        {"nomic-embed-text", "nomic-bert", 768, 12, 12, 12, 64, 3072, 30522, 2048, 1000.0f, true, 1},
        {"tiny-bert", "bert", 128, 2, 4, 4, 32, 256, 512, 128, 10000.0f, true, 2},
        {"tiny-nomic-bert", "nomic-bert", 128, 2, 4, 4, 32, 256, 512, 128, 1000.0f, true, 1},
        // Mixtures of experts: Qwen3-30B-A3B (128 experts, 8 per token), and a small one.
        {"qwen3-30b-a3b", "qwen3moe", 2048, 48, 32, 4, 128, 6144, 151936, 40960, 1000000.0f, false, 0, 128, 8, 768},
        {"tiny-qwen3moe", "qwen3moe", 256, 2, 4, 2, 64, 512, 512, 512, 1000000.0f, true, 0, 8, 2, 128},
        // Granite 3.x and Granite 3 MoE (whose experts are feed_forward_length wide, with no key of their own).
        {"tiny-granite", "granite", 256, 2, 4, 2, 64, 512, 512, 512, 10000.0f, true},
        {"tiny-granitemoe", "granitemoe", 256, 2, 4, 2, 64, 128, 512, 512, 10000.0f, true, 0, 8, 2, 128},
        // OLMo 2 and OLMoE.
        {"tiny-olmo2", "olmo2", 256, 2, 4, 4, 64, 512, 512, 512, 500000.0f, false},
        {"tiny-olmoe", "olmoe", 256, 2, 4, 4, 64, 512, 512, 512, 10000.0f, false, 0, 8, 2, 128},
        // EXAONE 3.5, and SmolLM3 (four layers: the fourth has no RoPE).
        {"tiny-exaone", "exaone", 256, 2, 4, 2, 64, 512, 512, 512, 1000000.0f, false},
        {"tiny-smollm3", "smollm3", 256, 4, 4, 2, 64, 512, 512, 512, 5000000.0f, true},
    };
    return shapes;
}

const SyntheticShape& find_synthetic_shape(const std::string& name) {
    std::string known;
    for (const auto& s : synthetic_shapes()) {
        if (s.name == name) return s;
        known += (known.empty() ? "" : ", ") + s.name;
    }
    throw std::invalid_argument("unknown model shape '" + name + "' (known: " + known + ")");
}

namespace {

// splitmix64: a fast, seedable generator so each tensor's values depend only on (seed, tensor).
struct Random {
    uint64_t state;
    uint64_t next() {
        uint64_t z = (state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    float uniform() { return static_cast<float>(next() >> 40) * (1.0f / 16777216.0f) * 2.0f - 1.0f; }  // [-1, 1)
};

// The tensors of a synthetic file, each filled from (seed, its index) when the file is written.
struct SyntheticTensors {
    gguf::Writer& writer;
    uint64_t seed;
    std::vector<GgmlType> mix = {};  // MIXED: the quantized tensors take these types in turn
    uint64_t index = 0;

    // scale 0 marks a norm's weights: values around 1; else uniform in [-scale, scale). count > 0:
    // a 3-D tensor of count matrices (a mixture's experts).
    void add(const std::string& name, GgmlType wanted, int64_t cols, int64_t rows, float scale, int64_t count = 0) {
        if (!mix.empty() && wanted != GgmlType::F32) wanted = mix[index % mix.size()];
        const GgmlType type = gguf::fitting_type(wanted, cols);
        const uint64_t tensor_seed = seed * 1000003 + index++;
        std::vector<int64_t> shape = rows == 1 ? std::vector<int64_t>{cols} : std::vector<int64_t>{cols, rows};
        if (count > 0) shape.push_back(count), rows *= count;
        writer.add_tensor_lazy(name, type, shape, [=] {
            Random rng{tensor_seed};
            const GgmlTypeInfo& info = ggml_type_info(type);
            const size_t row_bytes = static_cast<size_t>(cols / info.block_size) * info.block_bytes;
            std::vector<uint8_t> bytes(row_bytes * static_cast<size_t>(rows));
            std::vector<float> row(static_cast<size_t>(cols));
            for (int64_t r = 0; r < rows; ++r) {
                for (float& v : row) v = scale == 0.0f ? 1.0f + 0.2f * rng.uniform() : scale * rng.uniform();
                quant::quantize_row(type, row.data(), bytes.data() + row_bytes * r, cols);
            }
            return bytes;
        });
    }
};

constexpr float kWeightScale = 0.04f;  // uniform in [-0.04, 0.04): about the spread of trained weights
// A router's weights: large enough that its softmax prefers some experts clearly, as trained
// routers do, rather than giving all of them nearly the same weight.
constexpr float kRouterScale = 0.5f;

// A SentencePiece-style vocabulary: control tokens, the 256 byte tokens, then filler pieces.
void write_spm_vocabulary(gguf::Writer& w, int64_t n_vocab) {
    std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
    std::vector<int32_t> types = {2, 3, 3};
    for (int b = 0; b < 256 && static_cast<int64_t>(tokens.size()) < n_vocab; ++b) {
        char piece[8];
        std::snprintf(piece, sizeof piece, "<0x%02X>", b);
        tokens.emplace_back(piece);
        types.push_back(6);
    }
    while (static_cast<int64_t>(tokens.size()) < n_vocab) {
        tokens.push_back("\xe2\x96\x81t" + std::to_string(tokens.size()));
        types.push_back(1);
    }
    std::vector<float> scores(tokens.size());
    for (size_t i = 0; i < scores.size(); ++i) scores[i] = -static_cast<float>(i);
    w.set("tokenizer.ggml.model", "llama");
    w.set("tokenizer.ggml.tokens", gguf::make_array(tokens));
    w.set("tokenizer.ggml.scores", gguf::make_array(scores));
    w.set("tokenizer.ggml.token_type", gguf::make_array(types));
    w.set("tokenizer.ggml.bos_token_id", uint32_t{1});
    w.set("tokenizer.ggml.eos_token_id", uint32_t{2});
}

// A WordPiece vocabulary laid out as BERT's uncased one: [PAD], unused slots, [UNK] 100, [CLS] 101,
// [SEP] 102, [MASK] 103, then characters, word pieces, a few words and filler words.
void write_wordpiece_vocabulary(gguf::Writer& w, int64_t n_vocab) {
    std::vector<std::string> tokens = {"[PAD]"};
    std::vector<int32_t> types = {3};
    const auto add = [&](const std::string& token, int32_t type) {
        if (static_cast<int64_t>(tokens.size()) < n_vocab) tokens.push_back(token), types.push_back(type);
    };
    for (int i = 0; tokens.size() < 100; ++i) add("[unused" + std::to_string(i) + "]", 1);
    add("[UNK]", 2), add("[CLS]", 3), add("[SEP]", 3), add("[MASK]", 3);
    for (char c = '!'; c <= '~'; ++c)
        if (c < 'A' || c > 'Z') add(std::string(1, c), 1);
    for (char c = 'a'; c <= 'z'; ++c) add(std::string{'#', '#', c}, 1);
    for (const char* word : {"the", "of", "and", "hello", "world", "quick", "brown", "fox", "text", "search", "embed", "##ding", "##s", "##ed"})
        add(word, 1);
    while (static_cast<int64_t>(tokens.size()) < n_vocab) add(std::string("w").append(std::to_string(tokens.size())), 1);
    w.set("tokenizer.ggml.model", "bert");
    w.set("tokenizer.ggml.tokens", gguf::make_array(tokens));
    w.set("tokenizer.ggml.token_type", gguf::make_array(types));
    w.set("tokenizer.ggml.unknown_token_id", uint32_t{100});
    w.set("tokenizer.ggml.cls_token_id", uint32_t{101});
    w.set("tokenizer.ggml.seperator_token_id", uint32_t{102});  // the converter's spelling
    w.set("tokenizer.ggml.padding_token_id", uint32_t{0});
}

// A decoder: the blocks of llm/layer_tensors.h, a final norm, an output head unless tied.
void add_decoder_tensors(const SyntheticShape& s, SyntheticTensors& t, GgmlType base, GgmlType strong) {
    t.add("token_embd.weight", base, s.n_embd, s.n_vocab, kWeightScale);
    const ArchitectureTraits* traits = find_architecture(s.architecture);
    if (!traits) throw std::invalid_argument("no architecture " + s.architecture);
    ModelConfig config;
    config.traits = *traits;
    config.n_embd = s.n_embd;
    config.n_head = s.n_head;
    config.n_head_kv = s.n_head_kv;
    config.head_dim = s.head_dim;
    config.n_ff = s.n_ff;
    config.n_expert = s.n_expert;
    config.n_expert_used = s.n_expert_used;
    config.n_ff_expert = s.n_ff_expert;
    const std::vector<LayerTensor> tensors = layer_tensors(config);
    for (int64_t l = 0; l < s.n_layer; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        const GgmlType more = gguf::uses_more_bits(l, s.n_layer) ? strong : base;
        for (const LayerTensor& tensor : tensors) {
            if (tensor.vector)
                t.add(p + tensor.name, GgmlType::F32, tensor.cols, 1, tensor.name.find("norm") != std::string::npos ? 0.0f : kWeightScale);
            else if (tensor.experts)
                t.add(p + tensor.name, tensor.more_bits_in_mixes ? more : base, tensor.cols, tensor.rows, kWeightScale, tensor.n_experts);
            else if (tensor.name == "ffn_gate_inp.weight")  // routers stay F32, as in llama.cpp's files; decisive ones
                t.add(p + tensor.name, GgmlType::F32, tensor.cols, tensor.rows, kRouterScale);
            else
                t.add(p + tensor.name, tensor.more_bits_in_mixes ? more : base, tensor.cols, tensor.rows, kWeightScale);
        }
    }
    t.add("output_norm.weight", GgmlType::F32, s.n_embd, 1, 0.0f);
    if (!s.tied_embeddings) t.add("output.weight", strong, s.n_embd, s.n_vocab, kWeightScale);
}

// A BERT-family encoder: embeddings (token, two segment types, positions unless rotary), their
// norm, and the blocks of llm/bert_model.h; nomic-bert's q/k/v fused as its converter writes them.
void add_encoder_tensors(const SyntheticShape& s, SyntheticTensors& t, GgmlType base) {
    BertConfig config;
    config.architecture = s.architecture;
    config.rotary = s.architecture == "nomic-bert";
    config.n_embd = s.n_embd;
    config.n_ff = s.n_ff;
    t.add("token_embd.weight", base, s.n_embd, s.n_vocab, kWeightScale);
    t.add("token_types.weight", GgmlType::F32, s.n_embd, 2, kWeightScale);
    if (!config.rotary) t.add("position_embd.weight", base, s.n_embd, s.n_ctx, kWeightScale);
    t.add("token_embd_norm.weight", GgmlType::F32, s.n_embd, 1, 0.0f);
    t.add("token_embd_norm.bias", GgmlType::F32, s.n_embd, 1, kWeightScale);
    const std::vector<BertTensor> tensors = bert_layer_tensors(config, /*fused_qkv=*/config.rotary);
    for (int64_t l = 0; l < s.n_layer; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        for (const BertTensor& tensor : tensors) {
            const bool norm_weight = tensor.name.ends_with("norm.weight");
            if (!tensor.vectors.empty()) t.add(p + tensor.name, GgmlType::F32, tensor.cols, 1, norm_weight ? 0.0f : kWeightScale);
            else t.add(p + tensor.name, base, tensor.cols, tensor.rows, kWeightScale);
        }
    }
}

GgmlType parse_type(const std::string& name) {
    for (uint32_t id = 0; id < 64; ++id)
        if (const GgmlTypeInfo* info = find_ggml_type(id); info && name == info->name && quant::is_supported(info->type))
            return info->type;
    throw std::invalid_argument("unknown or unsupported quantization '" + name + "'");
}

}  // namespace

void write_synthetic_model(const SyntheticShape& s, const std::string& quant_name, uint64_t seed,
                           const std::string& path) {
    GgmlType base, strong;
    std::vector<GgmlType> mix;
    if (quant_name == "MIXED") {
        // Every matrix of a layer in another type: the mixed-precision files the loaders, kernels
        // and the NPU's conversion must all take.
        mix = {GgmlType::F16, GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_K, GgmlType::Q6_K, GgmlType::Q5_0, GgmlType::Q3_K, GgmlType::Q4_1};
        base = strong = GgmlType::Q8_0;
    } else if (quant_name == "Q4_K_M") {
        base = GgmlType::Q4_K;
        strong = GgmlType::Q6_K;
    } else if (quant_name == "Q5_K_M") {
        base = GgmlType::Q5_K;
        strong = GgmlType::Q6_K;
    } else {
        base = strong = parse_type(quant_name);
    }

    gguf::Writer w;
    const std::string a = s.architecture + ".";
    const bool encoder = is_encoder_architecture(s.architecture);
    w.set("general.architecture", s.architecture);
    w.set("general.name", "synthetic " + s.name + " " + quant_name);
    w.set(a + "context_length", static_cast<uint32_t>(s.n_ctx));
    w.set(a + "embedding_length", static_cast<uint32_t>(s.n_embd));
    w.set(a + "block_count", static_cast<uint32_t>(s.n_layer));
    w.set(a + "feed_forward_length", static_cast<uint32_t>(s.n_ff));
    w.set(a + "attention.head_count", static_cast<uint32_t>(s.n_head));
    if (s.pooling_type != 0) w.set(a + "pooling_type", s.pooling_type);
    if (encoder) {
        w.set(a + "attention.layer_norm_epsilon", 1e-12f);
        w.set(a + "attention.causal", false);
        if (s.architecture == "nomic-bert") w.set(a + "rope.freq_base", s.rope_freq_base);
        write_wordpiece_vocabulary(w, s.n_vocab);
    } else {
        w.set(a + "attention.head_count_kv", static_cast<uint32_t>(s.n_head_kv));
        w.set(a + "attention.key_length", static_cast<uint32_t>(s.head_dim));
        w.set(a + "attention.value_length", static_cast<uint32_t>(s.head_dim));
        w.set(a + "attention.layer_norm_rms_epsilon", 1e-6f);
        w.set(a + "rope.freq_base", s.rope_freq_base);
        // Small windows in the tiny shapes, so that an 8-token test crosses them.
        const bool tiny = s.name.rfind("tiny-", 0) == 0;
        if (s.architecture == "gemma2") {
            w.set(a + "attn_logit_softcapping", 50.0f);
            w.set(a + "final_logit_softcapping", 30.0f);
            w.set(a + "attention.sliding_window", static_cast<uint32_t>(tiny ? 3 : 4096));
        }
        if (s.architecture == "gemma3") w.set(a + "attention.sliding_window", static_cast<uint32_t>(tiny ? 3 : 512));
        if (s.architecture == "phi3") w.set(a + "attention.sliding_window", static_cast<uint32_t>(tiny ? 5 : 2047));
        if (s.n_expert > 0) {
            w.set(a + "expert_count", static_cast<uint32_t>(s.n_expert));
            w.set(a + "expert_used_count", static_cast<uint32_t>(s.n_expert_used));
            if (s.architecture != "granitemoe") w.set(a + "expert_feed_forward_length", static_cast<uint32_t>(s.n_ff_expert));
        }
        if (s.architecture.starts_with("granite")) {  // Granite 3's multipliers
            w.set(a + "embedding_scale", 12.0f);
            w.set(a + "residual_scale", 0.22f);
            w.set(a + "attention.scale", 0.015625f);
            w.set(a + "logit_scale", 8.0f);
        }
        write_spm_vocabulary(w, s.n_vocab);
    }

    SyntheticTensors tensors{w, seed, mix};
    if (encoder) add_encoder_tensors(s, tensors, base);
    else add_decoder_tensors(s, tensors, base, strong);
    w.write_file(path);
}

}  // namespace rockllm
