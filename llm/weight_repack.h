// Weights copied at load into the layouts the CPU kernels read fastest: Q8_0 and Q4_0 matrices into the
// interleaved layouts (llm/kernels/interleaved.h) where the instruction set has their kernels. The
// file's pages of a repacked matrix are given back, so the model takes no more memory than it did.
// For the CPU engine only: the NPU converts its weights from the file's layout.
#pragma once

#include <cstdint>

#include "llm/bert_model.h"
#include "llm/kernels/vec_dot.h"
#include "llm/model.h"

namespace rockllm {

struct RepackReport {
    int64_t matrices = 0;
    int64_t bytes = 0;
};

// Repacks what this instruction set has kernels for; a model already repacked is left alone.
RepackReport repack_for_cpu(Model& model, kernels::Isa isa = kernels::detected_isa());
RepackReport repack_for_cpu(BertModel& model, kernels::Isa isa = kernels::detected_isa());

}  // namespace rockllm
