#pragma once
// GPT-2 from GGUF (llama.cpp's "gpt2" tensor names and metadata).
#include <memory>

#include "models/gguf.h"
#include "models/gpt2.h"

namespace vkllm {

std::unique_ptr<Gpt2Model> load_gpt2_gguf(Device& device, const GgufFile& file);

class GgufUploader;
// One block of the layout GPT-2 and ChatGLM-6B share (blk.N.attn_norm.weight/bias,
// attn_qkv.weight/bias as [q; k; v] rows, attn_output, ffn_norm, ffn_up, ffn_down, all with biases).
Gpt2Layer load_biased_block(GgufUploader& up, const GgufFile& file, int layer, int64_t dim);

}  // namespace vkllm
