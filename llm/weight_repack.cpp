#include "llm/weight_repack.h"

#include <algorithm>

#include "llm/kernels/interleaved.h"
#include "llm/layer_tensors.h"
#include "llm/thread_pool.h"

namespace rockllm {

namespace {

// Copies one matrix into the interleaved layout when the instruction set has a kernel for it,
// giving the file's pages back as it goes.
void repack_matrix(WeightMatrix& w, const gguf::File& file, std::vector<std::shared_ptr<uint8_t[]>>& storage, ThreadPool& pool,
                   kernels::Isa isa, RepackReport& report) {
    if (w.layout != WeightLayout::Rows || !kernels::has_interleaved_layout(w.type) || w.rows % kernels::kInterleavedRows != 0) return;
    const kernels::InterleavedKernels simd = kernels::interleaved_kernels(isa, w.type);
    if (!simd.kernel) return;
    const size_t bytes = w.row_bytes * static_cast<size_t>(w.rows);
    // Not zero-filled: pages are touched only as the slices below are written.
    auto& copy = storage.emplace_back(std::shared_ptr<uint8_t[]>(new uint8_t[bytes]));
    const int64_t groups = w.rows / kernels::kInterleavedRows;
    const size_t group_bytes = w.row_bytes * kernels::kInterleavedRows;
    // A few MiB at a time, giving the file's pages back as it goes: the peak stays near the
    // model's size rather than a large matrix above it.
    const int64_t slice = std::max<int64_t>(1, (int64_t{4} << 20) / static_cast<int64_t>(group_bytes));
    for (int64_t first = 0; first < groups; first += slice) {
        const int64_t count = std::min(slice, groups - first);
        pool.parallel_for(count, [&](int64_t begin, int64_t end) {
            kernels::repack_interleaved(w.type, w.data + (first + begin) * group_bytes, (end - begin) * kernels::kInterleavedRows,
                                        w.cols, simd.bias, copy.get() + (first + begin) * group_bytes);
        });
        file.release_pages(w.data + first * group_bytes, static_cast<size_t>(count) * group_bytes);
    }
    w.data = copy.get();
    w.layout = WeightLayout::Interleaved8;
    w.quant_bias = simd.bias;
    ++report.matrices;
    report.bytes += static_cast<int64_t>(bytes);
}

}  // namespace

RepackReport repack_for_cpu(Model& model, kernels::Isa isa) {
    RepackReport report;
    ThreadPool pool(default_thread_count());
    const auto repack = [&](WeightMatrix& w) { repack_matrix(w, *model.file, model.repacked, pool, isa, report); };
    for (LayerWeights& layer : model.layers) {
        for_each_matrix(layer, repack);
        for_each_expert_matrix(layer, repack);
    }
    const bool tied = model.output.data == model.token_embedding.data;
    repack(model.output);
    if (tied) {
        // The token embedding is the output matrix: its rows are read from the repacked copy.
        const std::string name = model.token_embedding.name;
        model.token_embedding = model.output;
        model.token_embedding.name = name;
    }
    return report;
}

RepackReport repack_for_cpu(BertModel& model, kernels::Isa isa) {
    RepackReport report;
    ThreadPool pool(default_thread_count());
    for (BertLayer& layer : model.layers)
        for (const BertMatrixGroup& group : bert_matrix_groups(model.config))
            for (WeightMatrix BertLayer::*part : group.parts) repack_matrix(layer.*part, *model.file, model.repacked, pool, isa, report);
    return report;
}

}  // namespace rockllm
