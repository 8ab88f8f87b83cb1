#include "llm/weight_repack.h"

#include <algorithm>

#include "llm/kernels/q8_0x8.h"
#include "llm/layer_tensors.h"
#include "llm/thread_pool.h"

namespace rockllm {

RepackReport repack_for_cpu(Model& model, kernels::Isa isa) {
    RepackReport report;
    const kernels::Q8_0x8Kernels q8 = kernels::q8_0x8_kernels(isa);
    if (!q8.kernel) return report;
    ThreadPool pool(default_thread_count());
    const auto repack = [&](WeightMatrix& w) {
        if (w.layout != WeightLayout::Rows || w.type != GgmlType::Q8_0 || w.rows % kernels::kQ8_0x8Rows != 0) return;
        const size_t bytes = w.row_bytes * static_cast<size_t>(w.rows);
        // Not zero-filled: pages are touched only as the slices below are written.
        auto& storage = model.repacked.emplace_back(std::shared_ptr<uint8_t[]>(new uint8_t[bytes]));
        const int64_t groups = w.rows / kernels::kQ8_0x8Rows;
        const size_t group_bytes = w.row_bytes * kernels::kQ8_0x8Rows;
        // A few MiB at a time, giving the file's pages back as it goes: the peak stays near the
        // model's size rather than a large matrix above it.
        const int64_t slice = std::max<int64_t>(1, (int64_t{4} << 20) / static_cast<int64_t>(group_bytes));
        for (int64_t first = 0; first < groups; first += slice) {
            const int64_t count = std::min(slice, groups - first);
            pool.parallel_for(count, [&](int64_t begin, int64_t end) {
                kernels::repack_q8_0x8(w.data + (first + begin) * group_bytes, (end - begin) * kernels::kQ8_0x8Rows, w.cols,
                                       q8.bias, storage.get() + (first + begin) * group_bytes);
            });
            model.file->release_pages(w.data + first * group_bytes, static_cast<size_t>(count) * group_bytes);
        }
        w.data = storage.get();
        w.layout = WeightLayout::Q8_0x8;
        w.quant_bias = q8.bias;
        ++report.matrices;
        report.bytes += static_cast<int64_t>(bytes);
    };
    for (LayerWeights& layer : model.layers) for_each_matrix(layer, repack);
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

}  // namespace rockllm
