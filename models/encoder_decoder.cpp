#include "models/encoder_decoder.h"

#include <numeric>
#include <vector>

#include "runtime/device.h"
#include "runtime/error.h"
#include "runtime/ops.h"

namespace vkllm {

EncoderDecoderModel::EncoderDecoderModel(Device& device, std::string arch, int vocab, int context, int32_t decoder_start)
    : Model(device, std::move(arch), vocab, context), decoder_start_(decoder_start) {
  if (decoder_start < 0 || decoder_start >= vocab) throw Error(this->arch() + ": the decoder start token is not in the vocabulary");
}

Tensor EncoderDecoderModel::EncoderPass::tensor(int64_t rows, int64_t cols, const char* name) const {
  Tensor& t = model.encoder_arena_[{name, taken[name]++}];
  if (!t.storage || t.numel() < rows * cols) t = graph.device().tensor(DType::F32, rows, cols, name);
  Tensor view = t;  // the buffer's first rows x cols elements, contiguous
  view.rows = rows;
  view.cols = cols;
  view.row_stride = cols;
  return view;
}

void EncoderDecoderModel::encode(KvCache& cache, std::span<const int32_t> tokens) {
  const int64_t n = int64_t(tokens.size());
  if (n == 0) throw Error(arch() + ": the encoder needs at least one token");
  KvCache& cross = cache.cross();
  if (n > cross.capacity())
    throw Error(arch() + ": an encoder input of " + std::to_string(n) + " tokens is longer than " +
                (cross.capacity() < encoder_context() ? "this cache was made for (" : "the model accepts (") +
                std::to_string(cross.capacity()) + ")");
  check_tokens(tokens);
  Device& d = device();
  std::vector<int32_t> positions(static_cast<size_t>(n));
  std::iota(positions.begin(), positions.end(), 0);
  const Tensor ids = d.tensor(DType::I32, 1, n, "encoder tokens"), pos = d.tensor(DType::I32, 1, n, "encoder positions");
  d.upload(ids, tokens.data());
  d.upload(pos, positions.data());

  cross.clear();
  Graph g(d);
  const EncoderPass pass{g, ids, pos, n, *this, {}};
  const Tensor encoded = record_encoder(pass);
  const int64_t first = cross.reserve(positions);
  cross.write_positions(g, pos, uint32_t(first));
  const Tensor kv = pass.tensor(n, 2 * cross.row_width(), "cross kv");
  const Tensor k = kv.slice_cols(0, cross.row_width()), v = kv.slice_cols(cross.row_width(), cross.row_width());
  for (int l = 0; l < cross.config().n_layers; ++l) {
    const CrossProjection p = cross_projection(l);
    ops::matmul(g, p.kv, encoded, kv, 0, {p.bias});
    if (p.k_norm.storage) ops::rmsnorm(g, k, p.k_norm, k, p.norm_eps);  // per head: the weight is head_dim wide
    cross.write_layer(g, l, k, v, uint32_t(first));
  }
  try {
    g.run();
  } catch (...) {
    cross.clear();
    throw;
  }
}

}  // namespace vkllm
