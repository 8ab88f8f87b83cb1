// One entry per supported architecture: how it differs from the plain llama block.
#include "model_config.h"

namespace rockllm {

namespace {

constexpr ArchitectureTraits kArchitectures[] = {
    // Llama 2/3, TinyLlama, SmolLM, Mistral-style models.
    {.name = "llama"},
    // Qwen2 / Qwen2.5: biases on q, k and v.
    {.name = "qwen2", .rope = RopeStyle::Halves, .qkv_bias = true},
    // Qwen3: per-head RMSNorm of q and k instead of biases.
    {.name = "qwen3", .rope = RopeStyle::Halves, .qk_norm = true},
    // Gemma 2: GeLU, norms after attention and FFN too, scaled embeddings, soft-capped attention and
    // logits, every other layer local.
    {.name = "gemma2", .rope = RopeStyle::Halves, .activation = Activation::GeLU, .post_norms = true,
     .scale_embeddings = true, .swa_pattern = 2},
    // Gemma 3: as Gemma 2 with q/k norms instead of soft-capping; five local layers (RoPE base 10000)
    // to one global.
    {.name = "gemma3", .rope = RopeStyle::Halves, .activation = Activation::GeLU, .qk_norm = true, .post_norms = true,
     .scale_embeddings = true, .swa_pattern = 6, .local_rope_base = 10000.0f},
    // Qwen3 MoE (Qwen3-30B-A3B): Qwen3's attention; the FFN is 8 of 128 SwiGLU experts, picked
    // by a softmax router whose top weights are renormalised.
    {.name = "qwen3moe", .rope = RopeStyle::Halves, .qk_norm = true, .experts = true, .normalize_expert_weights = true},
    // Granite 3.x: llama with multipliers on the embeddings, the residual branches, attention and
    // the logits (ModelConfig); Granite 3 MoE: the same with a mixture of experts.
    {.name = "granite"},
    {.name = "granitemoe", .experts = true, .normalize_expert_weights = true},
    // OLMo 2: norms only after attention and FFN (on their outputs), RMSNorm over all of q and k.
    {.name = "olmo2", .rope = RopeStyle::Halves, .qk_norm = true, .qk_norm_full = true, .pre_norms = false, .post_norms = true},
    // OLMoE: llama's norms, q/k norms over all of q and k, 8 of 64 experts with their router
    // weights as the softmax gives them (not renormalised).
    {.name = "olmoe", .rope = RopeStyle::Halves, .qk_norm = true, .qk_norm_full = true, .experts = true},
    // EXAONE 3.5: llama's block with NeoX RoPE.
    {.name = "exaone", .rope = RopeStyle::Halves},
    // SmolLM3: llama's block, every fourth layer without RoPE (llama.cpp fixes the period at 4 too:
    // the GGUF has no key for it).
    {.name = "smollm3", .no_rope_every = 4},
    // Phi-3 / Phi-3.5 mini: fused QKV and gate/up tensors; a sliding window on every layer when set.
    {.name = "phi3", .rope = RopeStyle::Halves, .fused_qkv = true, .fused_gate_up = true, .swa_pattern = 1},
};

}  // namespace

const ArchitectureTraits* find_architecture(const std::string& name) {
    for (const auto& a : kArchitectures)
        if (name == a.name) return &a;
    return nullptr;
}

bool is_encoder_architecture(const std::string& name) { return name == "bert" || name == "nomic-bert"; }

std::string supported_architectures() {
    std::string out;
    for (const auto& a : kArchitectures) out += (out.empty() ? "" : ", ") + std::string(a.name);
    return out;
}

}  // namespace rockllm
