// Attention over a KV cache (attention.comp, attention_combine.comp, attention_probs.comp).
#include <bit>
#include <cmath>
#include <cstdint>
#include <optional>

#include "runtime/ops.h"
#include "runtime/ops/op_util.h"
#include "runtime/pipeline.h"

namespace vkllm::ops {

namespace {
const OpDecl kAttention{"attention",
                        {Access::Read, Access::Read, Access::Read, Access::Read, Access::Read, Access::Read, Access::Write},
                        30 * 4};
// K/V read as texels (Capabilities::texel_reads).
const OpDecl kAttentionTexels{"attention",
                              {Access::Read, Access::ReadTexels, Access::ReadTexels, Access::Read, Access::Read, Access::Read,
                               Access::Write},
                              30 * 4};
const OpDecl kCombine{"attention_combine", {Access::Read, Access::Write}, 6 * 4};
const OpDecl kProbs{"attention_probs",
                    {Access::Read, Access::Read, Access::Read, Access::Read, Access::Read, Access::ReadWrite}, 25 * 4};
constexpr uint32_t kNoExplicitMask = 0xffffffffu, kFinalOutput = 0xffffffffu;
constexpr uint32_t kPrefillQueries = 4;  // queries per workgroup when there are many: K/V loads are shared
constexpr int64_t kKeysPerSplit = 256;   // decode: one workgroup per this many keys, at most kMaxSplits
constexpr int64_t kMaxSplits = 16;

// Mask fields shared by the two kernels' push blocks.
struct MaskPush {
  uint32_t kpos_off, qpos_off, mask_kind, prefix, window, window_after, q_slot0, mask_off, mask_stride, mask_head_stride;
};

bool cache_type(DType t) { return t == DType::F32 || t == DType::F16 || block_rows(t); }

// The variant for K (and V, unless it is a probe) rows of these types: named by K's type, then
// V's where it differs.
std::string kv_variant(const Device& d, const char* base, DType k, std::optional<DType> v, bool texels = false) {
  for (DType t : {k, v.value_or(k)}) {
    require(cache_type(t), std::string("attention: ") + dtype_name(t) + " is not a cache type");
    require(t != DType::F16 || d.caps().f16_storage, "attention: f16 caches need 16-bit storage buffers");
  }
  std::string name = std::string(base) + "_" + dtype_name(k);
  if (v && *v != k) name += std::string("_") + dtype_name(*v);
  return reduce_variant(d, (name + (texels ? "_tx" : "")).c_str());
}

void check(const Tensor& q, const Tensor& k, const Tensor& key_positions, const Tensor& query_positions,
           const AttentionParams& a, const char* op) {
  require(a.n_heads > 0 && a.n_kv_heads > 0 && a.head_dim > 0 && a.n_heads % a.n_kv_heads == 0,
          std::string(op) + ": n_heads must be a positive multiple of n_kv_heads");
  require_dtype(q, DType::F32, op);
  require(q.cols == int64_t(a.n_heads) * a.head_dim, std::string(op) + ": q " + q.describe() + " is not " +
                                                         std::to_string(a.n_heads) + " heads of " + std::to_string(a.head_dim));
  require(cache_type(k.dtype) && k.cols == row_units(k.dtype, int64_t(a.n_kv_heads) * a.head_dim),
          std::string(op) + ": cache " + k.describe() + " is not " + std::to_string(a.n_kv_heads) + " kv heads");
  require_dtype(key_positions, DType::I32, op);
  require_dtype(query_positions, DType::I32, op);
  require(key_positions.cols >= k.rows, std::string(op) + ": key positions must cover every cache slot");
  require(query_positions.rows == 1 && query_positions.cols == q.rows, std::string(op) + ": one query position per query");
  if (!(a.n_kv & 0x80000000u) && a.n_kv != kAllColumns)
    require(int64_t(a.n_kv) <= k.rows, std::string(op) + ": n_kv exceeds the cache capacity");
  if (a.mask == AttentionMask::SlidingWindow || a.mask == AttentionMask::BidirectionalWindow) require(a.window > 0, std::string(op) + ": a sliding window needs window > 0");
  if (a.explicit_mask) {
    require_dtype(*a.explicit_mask, DType::F32, op);
    require((a.explicit_mask->rows == q.rows || a.explicit_mask->rows == q.rows * a.n_heads) && a.explicit_mask->cols >= k.rows,
            std::string(op) + ": the explicit mask must be [n_q or n_heads * n_q, capacity], got " + a.explicit_mask->describe());
  }
  for (const Tensor* t : {&q, &key_positions, &query_positions})
    require(t->storage->chunks().size() == 1, std::string(op) + ": " + t->describe() + " must lie in one buffer range");
}

// A mask of n_heads * n_q rows holds each head's n_q rows in turn.
MaskPush mask_push(const Binding& kpos, const Binding& qpos, const Binding* mask, const Tensor* explicit_mask,
                   const AttentionParams& a, int64_t n_q) {
  const bool per_head = explicit_mask && explicit_mask->rows != n_q;
  return MaskPush{kpos.elem_offset, qpos.elem_offset, uint32_t(a.mask), u32(a.prefix), u32(a.window),
                  u32(a.window_after > 0 ? a.window_after : a.window), a.first_query_slot, mask ? mask->elem_offset : kNoExplicitMask,
                  explicit_mask ? u32(explicit_mask->row_stride) : 0u, per_head ? u32(n_q * explicit_mask->row_stride) : 0u};
}

float scale_of(const AttentionParams& a) { return a.scale > 0 ? a.scale : 1.0f / std::sqrt(float(a.head_dim)); }
uint32_t n_kv_of(const AttentionParams& a, const Tensor& k) { return a.n_kv == kAllColumns ? u32(k.rows) : a.n_kv; }
}  // namespace

void attention(Graph& g, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_positions,
               const Tensor& query_positions, const Tensor& out, const AttentionParams& a) {
  const AttentionKeys keys{k, v, key_positions, a};
  attention(g, q, std::span(&keys, 1), query_positions, out);
}

void attention(Graph& g, const Tensor& q, std::span<const AttentionKeys> sources, const Tensor& query_positions,
               const Tensor& out) {
  require(!sources.empty(), "attention: no keys given");
  const AttentionParams& first = sources[0].params;
  require_dtype(out, DType::F32, "attention");
  require_same_shape(q, out, "attention");
  require(out.storage->chunks().size() == 1, "attention: output must lie in one buffer range");
  Device& d = g.device();
  const uint32_t local = subgroup_local_size(d);
  const int64_t n_q = q.rows;
  const uint32_t qb = n_q > 4 ? kPrefillQueries : 1;

  // Each source's pipeline and key ranges: one per buffer range of its cache (usually one),
  // split further for decode; every split writes a partial result unless there is one in all.
  struct Dispatch {
    const Pipeline* pipe;
    Binding k, v;
    const AttentionKeys* keys;
    int64_t first, count;
    uint32_t splits, n_kv;
  };
  std::vector<Dispatch> dispatches;
  uint32_t n_partials = 0;
  for (const AttentionKeys& s : sources) {
    const Tensor &k = s.k, &v = s.v;
    const AttentionParams& a = s.params;
    check(q, k, s.key_positions, query_positions, a, "attention");
    require(a.n_heads == first.n_heads && a.n_kv_heads == first.n_kv_heads && a.head_dim == first.head_dim &&
                a.scale == first.scale && a.softcap == first.softcap,
            "attention: the key sources differ in heads, scale or softcap");
    require(k.rows == v.rows && v.cols == row_units(v.dtype, int64_t(a.n_kv_heads) * a.head_dim),
            "attention: K and V caches differ: " + k.describe() + ", " + v.describe());
    // Decode: invocations take different keys (attention_decode.comp), which needs 4-aligned
    // f32/f16 rows (block rows are read a word at a time).
    const bool float_rows = !block_rows(k.dtype) && !block_rows(v.dtype);
    const bool decode = n_q <= 4 && a.head_dim % 4 == 0 && a.head_dim <= 256 &&
                        (!float_rows || ((k.row_stride | v.row_stride | k.offset | v.offset) & 3) == 0);
    // Texel reads serve f32/f16 K and V of one type. The decode kernel's take 16-byte units of a
    // row (8 halves of an f16 cache); the general kernel's read elements.
    const int64_t unit = k.dtype == DType::F16 ? 8 : 4;
    const bool texels = d.caps().texel_reads && float_rows && k.dtype == v.dtype &&
                        (!decode || (a.head_dim % unit == 0 && ((k.row_stride | v.row_stride | k.offset | v.offset) % unit) == 0));
    const Pipeline& pipe =
        decode ? d.pipelines().get(texels ? kAttentionTexels : kAttention,
                                   kv_variant(d, "attention_decode", k.dtype, v.dtype, texels), {local, u32(a.head_dim / 4)})
               : d.pipelines().get(texels ? kAttentionTexels : kAttention, kv_variant(d, "attention", k.dtype, v.dtype, texels),
                                   {local, (u32(a.head_dim) + local - 1) / local, qb});
    const uint32_t n_kv = n_kv_of(a, k);
    const bool dynamic = n_kv & 0x80000000u;
    auto ranges = split_rows(dynamic ? k.rows : int64_t(n_kv), {&k, &v});
    if (ranges.empty()) ranges.push_back({0, 0});  // no keys: a partial that sees none
    // Without subgroup arithmetic each key costs a workgroup reduction with its barriers
    // (2 + log2(local)); keep every workgroup within half the driver's barrier budget.
    int64_t max_keys = INT64_MAX;
    if (!decode && d.caps().max_workgroup_barriers && !d.caps().subgroup_arithmetic)
      max_keys = d.caps().max_workgroup_barriers / 2 / (2 + std::bit_width(local));
    for (auto r : ranges) {
      int64_t splits = n_q <= 4 ? std::clamp<int64_t>(r.count / kKeysPerSplit, 1, kMaxSplits) : 1;
      splits = std::max(splits, r.count / max_keys + (r.count % max_keys != 0));
      dispatches.push_back({&pipe, bind_rows(k, r.first, r.count), bind_rows(v, r.first, r.count), &s, r.first, r.count,
                            u32(splits), n_kv});
      n_partials += u32(splits);
    }
  }
  const bool direct = n_partials == 1;
  Tensor partials;
  if (!direct) partials = d.tensor(DType::F32, n_q * first.n_heads * n_partials, first.head_dim + 2, "attention partials");

  const Binding bq = bind(q), bqp = bind(query_positions), bo = bind(out);
  uint32_t partial_base = 0;
  for (const Dispatch& x : dispatches) {
    const AttentionParams& a = x.keys->params;
    const Binding bkp = bind(x.keys->key_positions);
    const Binding bm = a.explicit_mask ? bind(*a.explicit_mask) : bq;  // unread without an explicit mask
    struct {
      uint32_t n_q, n_heads, group, head_dim;
      uint32_t q_off, q_stride, k_off, k_stride, v_off, v_stride, o_off, o_stride;
      uint32_t kv_base, kv_rows, n_kv, splits, partial_base, n_partials;
      MaskPush mask;
      float scale, softcap;
    } push{u32(n_q), u32(a.n_heads), u32(a.n_heads / a.n_kv_heads), u32(a.head_dim), bq.elem_offset, u32(q.row_stride),
           x.k.elem_offset, u32(x.keys->k.row_stride), x.v.elem_offset, u32(x.keys->v.row_stride), bo.elem_offset,
           u32(out.row_stride), u32(x.first), u32(x.count), x.n_kv, x.splits, direct ? kFinalOutput : partial_base, n_partials,
           mask_push(bkp, bqp, a.explicit_mask ? &bm : nullptr, a.explicit_mask, a, n_q), scale_of(a), a.softcap};
    g.dispatch(*x.pipe, {bq, x.k, x.v, bkp, bqp, bm, direct ? bo : bind(partials)}, push,
               Groups{u32(a.n_heads), u32((n_q + qb - 1) / qb), x.splits});
    partial_base += x.splits;
  }
  if (direct) return;
  const Pipeline& combine = d.pipelines().get(kCombine, "attention_combine", {local});
  struct {
    uint32_t n_q, n_heads, head_dim, n_partials, o_off, o_stride;
  } push{u32(n_q), u32(first.n_heads), u32(first.head_dim), n_partials, bo.elem_offset, u32(out.row_stride)};
  g.dispatch(combine, {bind(partials), bo}, push, groups_for(uint64_t(n_q) * first.n_heads * local, local, d.caps()));
}

void attention_probs(Graph& g, const Tensor& q, const Tensor& k, const Tensor& key_positions,
                     const Tensor& query_positions, const Tensor& probs, const AttentionParams& a, bool scores_only) {
  check(q, k, key_positions, query_positions, a, "attention_probs");
  require_dtype(probs, DType::F32, "attention_probs");
  require(probs.rows == q.rows * a.n_heads && probs.cols >= k.rows,
          "attention_probs: probs must be [n_heads * n_q, capacity], got " + probs.describe());
  require(k.storage->chunks().size() == 1 && probs.storage->chunks().size() == 1,
          "attention_probs: the cache layer and probs must each lie in one buffer range");
  Device& d = g.device();
  const uint32_t local = subgroup_local_size(d);
  const Pipeline& pipe = d.pipelines().get(kProbs, kv_variant(d, "attention_probs", k.dtype, std::nullopt), {local});
  const Binding bq = bind(q), bk = bind(k), bkp = bind(key_positions), bqp = bind(query_positions), bp = bind(probs);
  const Binding bm = a.explicit_mask ? bind(*a.explicit_mask) : bq;
  struct {
    uint32_t n_q, n_heads, group, head_dim, q_off, q_stride, k_off, k_stride, n_kv, probs_off, probs_stride;
    MaskPush mask;
    float scale, softcap;
    uint32_t probs_cols, scores_only;
  } push{u32(q.rows), u32(a.n_heads), u32(a.n_heads / a.n_kv_heads), u32(a.head_dim), bq.elem_offset, u32(q.row_stride),
         bk.elem_offset, u32(k.row_stride), n_kv_of(a, k), bp.elem_offset, u32(probs.row_stride),
         mask_push(bkp, bqp, a.explicit_mask ? &bm : nullptr, a.explicit_mask, a, q.rows), scale_of(a), a.softcap,
         u32(probs.cols), scores_only ? 1u : 0u};
  g.dispatch(pipe, {bq, bk, bkp, bqp, bm, bp}, push, Groups{u32(a.n_heads), u32(q.rows), 1});
}

}  // namespace vkllm::ops
