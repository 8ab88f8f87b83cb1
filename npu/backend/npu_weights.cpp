#include "npu/backend/npu_weights.h"
#include "base/half.h"

#include <algorithm>
#include <atomic>
#include <limits>
#include <cmath>
#include <cstring>

#include "llm/quant/quantize.h"
#include "npu/regcmd.h"

namespace rockllm::npu {

namespace {

constexpr float kFp16Max = 65504.0f;

// The largest magnitude of a row; NaN when a value is not finite (x - x is NaN only for NaN and ±inf).
float max_magnitude(const float* x, int64_t n) {
    float amax = 0, non_finite = 0;
    for (int64_t i = 0; i < n; ++i) {
        non_finite += x[i] - x[i];
        amax = std::max(amax, std::fabs(x[i]));
    }
    return non_finite == 0 ? amax : std::numeric_limits<float>::quiet_NaN();
}

// Symmetric int8 of one row: scale = max|x| / 127 (an all-zero row keeps scale 0); NaN for a row
// with a value that is not finite. Rounding is to nearest, ties to even (as lrint), written so
// that the loop vectorizes: adding and taking away 1.5·2^23 rounds a float below 2^22 to an integer.
float quantize_row_int8(const float* x, int64_t n, int8_t* out) {
    const float amax = max_magnitude(x, n);
    if (!(amax > 0)) {
        std::fill(out, out + n, int8_t{0});
        return amax;  // 0, or NaN
    }
    const float scale = amax / 127.0f;
    const float inverse = 1.0f / scale;
    constexpr float kRound = 12582912.0f;
    for (int64_t i = 0; i < n; ++i) {
        const float v = std::clamp(x[i] * inverse, -127.0f, 127.0f);
        out[i] = static_cast<int8_t>(static_cast<int32_t>((v + kRound) - kRound));
    }
    return scale;
}

}  // namespace

NpuMatrix convert_for_npu(std::span<const WeightMatrix* const> parts, MatmulType type, ThreadPool& pool) {
    if (parts.empty()) throw NpuError("nothing to convert");
    NpuMatrix m;
    m.type = type;
    m.cols = parts[0]->cols;
    for (const WeightMatrix* p : parts) {
        if (p->cols != m.cols) throw NpuError("matrices converted together must have the same width");
        m.rows += p->rows;
    }
    const size_t bpe = input_bytes(type);
    m.owned_data.resize(static_cast<size_t>(m.rows * m.cols) * bpe);
    if (type == MatmulType::Int8) m.owned_scales.resize(static_cast<size_t>(m.rows));
    // Which part holds a row of the concatenation.
    std::vector<std::pair<const WeightMatrix*, int64_t>> row_source;
    row_source.reserve(static_cast<size_t>(m.rows));
    for (const WeightMatrix* p : parts)
        for (int64_t r = 0; r < p->rows; ++r) row_source.emplace_back(p, r);
    std::atomic<bool> out_of_range{false};
    pool.parallel_for(m.rows, [&](int64_t begin, int64_t end) {
        std::vector<float> row(static_cast<size_t>(m.cols));
        for (int64_t r = begin; r < end; ++r) {
            const auto& [part, index] = row_source[static_cast<size_t>(r)];
            quant::dequantize_row(part->type, part->row(index), row.data(), m.cols);
            uint8_t* dst = m.owned_data.data() + static_cast<size_t>(r * m.cols) * bpe;
            if (type == MatmulType::Int8) {
                const float scale = quantize_row_int8(row.data(), m.cols, reinterpret_cast<int8_t*>(dst));
                if (std::isnan(scale)) out_of_range = true;
                m.owned_scales[static_cast<size_t>(r)] = scale;
            } else {
                auto* h = reinterpret_cast<uint16_t*>(dst);
                for (int64_t i = 0; i < m.cols; ++i) {
                    if (!(std::fabs(row[static_cast<size_t>(i)]) <= kFp16Max)) out_of_range = true;
                    h[i] = fp32_to_fp16(row[static_cast<size_t>(i)]);
                }
            }
        }
    });
    if (out_of_range)
        throw NpuError(std::string("'") + parts[0]->name + "' has values that " +
                       (type == MatmulType::Int8 ? "are not finite" : "fp16 cannot hold"));
    m.data = m.owned_data.data();
    m.scales = m.owned_scales.empty() ? nullptr : m.owned_scales.data();
    return m;
}

void quantize_activations(const float* x, int64_t n_tokens, int64_t cols, MatmulType type, QuantizedActivations& out) {
    out.data.resize(static_cast<size_t>(n_tokens * cols) * input_bytes(type));
    out.scales.resize(static_cast<size_t>(n_tokens));
    for (int64_t t = 0; t < n_tokens; ++t) {
        const float* row = x + t * cols;
        if (type == MatmulType::Int8) {
            const float scale = quantize_row_int8(row, cols, reinterpret_cast<int8_t*>(out.data.data()) + t * cols);
            if (std::isnan(scale)) throw NpuError("an activation is not finite");
            out.scales[static_cast<size_t>(t)] = scale;
        } else {
            // fp16 holds the values as they are unless a row has one beyond its range; then the row
            // is scaled down by a power of two (exact) and back up after.
            const float amax = max_magnitude(row, cols);
            if (std::isnan(amax)) throw NpuError("an activation is not finite");
            float scale = 1;
            while (amax / scale > kFp16Max / 4) scale *= 2;
            auto* h = reinterpret_cast<uint16_t*>(out.data.data()) + t * cols;
            for (int64_t i = 0; i < cols; ++i) h[i] = fp32_to_fp16(row[i] / scale);
            out.scales[static_cast<size_t>(t)] = scale;
        }
    }
}

}  // namespace rockllm::npu
