#pragma once
// GPU ops: each records dispatches of one shader into a Graph. Activations are f32; weights
// and tables may be f32 or f16. Tensors may be views (row slices, column slices); shapes are
// checked and a mismatch throws an Error naming the tensors.
#include <cstdint>
#include <span>
#include <vector>

#include "runtime/graph.h"
#include "runtime/rope.h"
#include "runtime/tensor.h"
#include "runtime/weight.h"

namespace vkllm::ops {

// out = a + b and out = a * b; b has a's shape or is one row broadcast over a's rows.
void add(Graph& g, const Tensor& a, const Tensor& b, const Tensor& out);
void mul(Graph& g, const Tensor& a, const Tensor& b, const Tensor& out);

void scale(Graph& g, const Tensor& x, float factor, const Tensor& out);
// out = cap * tanh(x / cap): Gemma 2's final-logit soft-cap.
void softcap(Graph& g, const Tensor& x, float cap, const Tensor& out);
void silu(Graph& g, const Tensor& x, const Tensor& out);
void relu(Graph& g, const Tensor& x, const Tensor& out);  // T5 v1.0's feed-forward
enum class GeluForm { Tanh, Erf };
void gelu(Graph& g, const Tensor& x, const Tensor& out, GeluForm form);

// weight (and bias): one row of x.cols values. rmsnorm's weight may instead be narrower, one
// row of a divisor of x.cols: each row is then that many segments (heads), each normalized by
// itself (Gemma 3's QK-norm). accumulate: out += the result, Gemma's post-norm and
// residual in one pass.
void rmsnorm(Graph& g, const Tensor& x, const Tensor& weight, const Tensor& out, float eps, bool accumulate = false);
void layernorm(Graph& g, const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& out, float eps);

// Row softmax over the first n_valid columns (the rest become 0). n_valid may be
// Graph::step_param(slot) to change it between replays; kAllColumns means x.cols.
constexpr uint32_t kAllColumns = 0x7fffffffu;
void softmax(Graph& g, const Tensor& x, const Tensor& out, uint32_t n_valid = kAllColumns);

// out[i] = table[ids[i]] (table f32 or f16, ids i32 with one row of n ids, out f32 [n, cols]).
void get_rows(Graph& g, const Tensor& table, const Tensor& ids, const Tensor& out);
// The same for a table in any Weight format (a block format is decoded as it is gathered).
void get_rows(Graph& g, const Weight& table, const Tensor& ids, const Tensor& out);

// What a matrix product adds as it stores y, saving a dispatch and a pass over y each.
struct Epilogue {
  Tensor bias;              // F32 [1, m], added to every row; no storage: none
  bool accumulate = false;  // y += x . w^T: a residual added in place (y must not alias x)
};

// y[n, m] = x[n, :] . w[m, :] (w f32 or f16 [m, k]; x f32 [n, k]; y f32 [n, m]), then the
// epilogue. Few vectors take the matrix-vector kernel (which reuses each weight load for up
// to 8 vectors), many the tiled matrix-matrix kernel, except on devices where barriers are
// expensive. batch_rows > 0 picks the kernel a batch of that many rows takes: rows gathered
// from a batch then compute bit for bit what they compute among all of it (each kernel's rows
// are independent).
void matmul(Graph& g, const Tensor& w, const Tensor& x, const Tensor& y, int64_t batch_rows = 0, const Epilogue& e = {});
// The same for any Weight; block formats (Q8_0, Q4_0, Q4_K, Q5_K, Q6_K) are read as stored by
// their own matrix-vector and tiled kernels, chosen the same way (x rows must start at
// multiples of 4 floats).
void matmul(Graph& g, const Weight& w, const Tensor& x, const Tensor& y, int64_t batch_rows = 0, const Epilogue& e = {});
// The same for stacked weights: y's columns are the parts' outputs in order, the bias spans them.
void matmul(Graph& g, const StackedWeight& w, const Tensor& x, const Tensor& y, int64_t batch_rows = 0,
            const Epilogue& e = {});
// The same with the kernel forced, for tests and benchmarks.
void matvec_kernel(Graph& g, const Tensor& w, const Tensor& x, const Tensor& y, const Epilogue& e = {});
void matmul_kernel(Graph& g, const Tensor& w, const Tensor& x, const Tensor& y, const Epilogue& e = {});

// out = act(gate) * up elementwise: the gated feed-forward's product (SwiGLU, GeGLU). gate and
// up may be column slices of one stacked projection's output.
enum class Activation { Silu, GeluTanh, GeluErf };
void glu(Graph& g, const Tensor& gate, const Tensor& up, const Tensor& out, Activation act);

// dst rows [dst_row0, dst_row0 + src.rows) = src (f32 -> f32, f32 -> f16, f16 -> f16, f16 -> f32, i32 -> i32,
// block rows to the same type, f32 -> block rows quantizing, block rows -> f32 dequantizing).
// dst_row0 may be Graph::step_param(slot); dst must then lie in one buffer range.
void copy_rows(Graph& g, const Tensor& src, const Tensor& dst, uint32_t dst_row0);
// dst[i] = src[indices[i]] (indices I32 [1, dst.rows], each < src.rows).
void gather_rows(Graph& g, const Tensor& src, const Tensor& indices, const Tensor& dst);

// RoPE on rows of n_heads heads (f32, or f16 with 16-bit storage): each token rotated at its
// positions (I32 [streams, n_tokens]; 2D RoPE has a second row of block positions), which
// must lie in the table's range. out may be x.
void rope(Graph& g, const Tensor& x, const Tensor& out, int n_heads, const RopeTable& table, const Tensor& positions);
// Rotates every token by the delta(s) of a RopeTable::delta table: cache reposition.
void rope_shift(Graph& g, const Tensor& x, const Tensor& out, int n_heads, const RopeTable& delta);

enum class AttentionMask {
  None,           // every key
  Causal,         // keys whose position <= the query's position
  PrefixLM,       // by slot: keys in [0, prefix) for every query, later keys causally (ChatGLM-6B)
  SlidingWindow,  // causal, and query position - key position < window (Gemma, Mistral)
  BidirectionalWindow,  // query position - key position < window and key position - query
                        // position < window_after (T5Gemma's encoders)
};

struct AttentionParams {
  int n_heads = 0, n_kv_heads = 0, head_dim = 0;
  float scale = 0.0f;    // 0: 1 / sqrt(head_dim)
  float softcap = 0.0f;  // > 0: scores become softcap * tanh(score / softcap) (Gemma 2)
  AttentionMask mask = AttentionMask::Causal;
  int prefix = 0;  // PrefixLM
  int window = 0;        // SlidingWindow, BidirectionalWindow
  int window_after = 0;  // BidirectionalWindow; 0: window
  uint32_t n_kv = kAllColumns;       // keys are cache slots [0, n_kv); may be Graph::step_param
  uint32_t first_query_slot = 0;     // PrefixLM: the slot of query 0; may be Graph::step_param
  // F32 [n_q, >= n_kv], added to every head's scores (-inf masks), or [n_heads * n_q, >= n_kv]
  // with row h * n_q + i for head h (T5's relative position bias).
  const Tensor* explicit_mask = nullptr;
};

// out[i, head h] = softmax_t(scale * q[i, h] . k[t, h / group] + mask) . v[t, h / group] over
// cache slots t < n_kv. q, out: F32 [n_q, n_heads * head_dim]; k, v: a cache layer's rows of
// n_kv_heads * head_dim values, each F32, F16, Q8_0 or Q4_0 (read without a dequantized copy); key_positions: I32 with each slot's position in row 0;
// query_positions: I32 [1, n_q]. A query that sees no key outputs zeros. Long contexts are
// split across workgroups and merged (flash-decoding); caches spanning several buffer ranges
// are handled the same way.
void attention(Graph& g, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_positions,
               const Tensor& query_positions, const Tensor& out, const AttentionParams& params);
// One cache layer's keys for attention over several: its K/V, their positions, and which of
// them queries see (params' mask, prefix, windows, n_kv, first_query_slot, explicit_mask).
struct AttentionKeys {
  const Tensor &k, &v, &key_positions;
  AttentionParams params;
};
// Attention with one softmax over the keys of every source (T5Gemma 2's decoder attends to
// its own cache and the encoder's at once), each masked by its own rules; the sources agree on
// heads, head_dim, scale and softcap.
void attention(Graph& g, const Tensor& q, std::span<const AttentionKeys> sources, const Tensor& query_positions,
               const Tensor& out);
// T5's relative position bias: the bucket of each key-to-query distance 0..max_distance (past
// it, the last), computed as llama.cpp computes it (float logs), with num_buckets split
// between keys before and after the query where bidirectional.
std::vector<int32_t> relative_position_buckets(int num_buckets, int max_distance, bool bidirectional);
// out[h * n_q + i, t] = table[bucket(key_pos[t] - query_pos[i]), h]: an explicit per-head mask
// for attention. table: F32 [num_buckets, heads]; by_distance: I32 [1, n] from
// relative_position_buckets; out: F32 [heads * n_q, keys], every column computed.
void position_bias(Graph& g, const Tensor& table, const Tensor& by_distance, bool bidirectional, const Tensor& key_positions,
                   const Tensor& query_positions, const Tensor& out);

// The attention probabilities, for probes: probs F32 [n_heads * n_q, >= n_kv], row h * n_q + i.
// scores_only: the masked scores instead, -inf where masked and in columns n_kv and on; a softmax
// over several caches' scores side by side gives their merged attention's probabilities.
void attention_probs(Graph& g, const Tensor& q, const Tensor& k, const Tensor& key_positions,
                     const Tensor& query_positions, const Tensor& probs, const AttentionParams& params,
                     bool scores_only = false);

}  // namespace vkllm::ops
