#include "layer_tensors.h"

namespace rockllm {

std::vector<LayerTensor> layer_tensors(const ModelConfig& c) {
    using L = LayerWeights;
    std::vector<LayerTensor> t;
    const int64_t e = c.n_embd, q = c.q_dim(), kv = c.kv_dim(), ff = c.n_ff;
    auto vector = [&](const char* name, int64_t n, std::vector<float> L::*to) { t.push_back({name, n, 1, to, {}, {}, false}); };
    auto matrix = [&](const char* name, int64_t cols, std::vector<WeightMatrix L::*> parts, std::vector<int64_t> rows, bool more_bits = false) {
        int64_t total = 0;
        for (int64_t r : rows) total += r;
        t.push_back({name, cols, total, nullptr, std::move(parts), std::move(rows), more_bits});
    };
    const ArchitectureTraits& a = c.traits;
    if (a.pre_norms) vector("attn_norm.weight", e, &L::attn_norm);
    if (a.fused_qkv) {
        matrix("attn_qkv.weight", e, {&L::wq, &L::wk, &L::wv}, {q, kv, kv});
    } else {
        matrix("attn_q.weight", e, {&L::wq}, {q});
        matrix("attn_k.weight", e, {&L::wk}, {kv});
        matrix("attn_v.weight", e, {&L::wv}, {kv}, /*more_bits=*/true);
    }
    matrix("attn_output.weight", q, {&L::wo}, {e});
    if (a.qkv_bias) {
        vector("attn_q.bias", q, &L::bq);
        vector("attn_k.bias", kv, &L::bk);
        vector("attn_v.bias", kv, &L::bv);
    }
    if (a.qk_norm) {
        vector("attn_q_norm.weight", a.qk_norm_full ? q : c.head_dim, &L::q_norm);
        vector("attn_k_norm.weight", a.qk_norm_full ? kv : c.head_dim, &L::k_norm);
    }
    if (a.pre_norms) vector("ffn_norm.weight", e, &L::ffn_norm);
    if (a.experts) {
        // The router stays F32 in llama.cpp's quantized files; the experts as 3-D tensors.
        matrix("ffn_gate_inp.weight", e, {&L::ffn_router}, {c.n_expert});
        const int64_t fe = c.n_ff_expert, n = c.n_expert;
        t.push_back({"ffn_gate_exps.weight", e, fe, nullptr, {}, {}, false, &L::expert_gate, n});
        t.push_back({"ffn_up_exps.weight", e, fe, nullptr, {}, {}, false, &L::expert_up, n});
        t.push_back({"ffn_down_exps.weight", fe, e, nullptr, {}, {}, true, &L::expert_down, n});
    } else if (a.fused_gate_up) {
        matrix("ffn_up.weight", e, {&L::ffn_gate, &L::ffn_up}, {ff, ff});
    } else {
        matrix("ffn_gate.weight", e, {&L::ffn_gate}, {ff});
        matrix("ffn_up.weight", e, {&L::ffn_up}, {ff});
    }
    if (!a.experts) matrix("ffn_down.weight", ff, {&L::ffn_down}, {e}, /*more_bits=*/true);
    if (a.post_norms) {
        vector("post_attention_norm.weight", e, &L::post_attention_norm);
        vector("post_ffw_norm.weight", e, &L::post_ffn_norm);
    }
    return t;
}

std::span<const MatmulGroup> matmul_groups() {
    using L = LayerWeights;
    static const MatmulGroup groups[] = {{"attn_qkv", {&L::wq, &L::wk, &L::wv}},
                                         {"attn_output", {&L::wo}},
                                         {"ffn_gate_up", {&L::ffn_gate, &L::ffn_up}},
                                         {"ffn_down", {&L::ffn_down}}};
    return groups;
}

}  // namespace rockllm
