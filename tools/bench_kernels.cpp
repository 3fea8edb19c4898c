// Kernel benchmarks: each prints figures (never asserts on time).
//   vkllm-bench-kernels bandwidth [--mib 1024] [--threads N]
//   vkllm-bench-kernels matvec    [--rows 4096] [--cols 4096] [--type f16|f32|q8_0|q4_0|q4_k|q5_k|q6_k] [--vectors 1]
//   vkllm-bench-kernels matmul    [--rows R] [--cols C] [--vectors 128]
//   vkllm-bench-kernels attention [--context 1024] [--heads 12] [--kv-heads 12] [--head-dim 64]
//   vkllm-bench-kernels kv        [--entries 1024] [--layers 12] [--dim 768] [--heads 12] [--ffn 2048]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "host/half.h"
#include "host/quant.h"
#include "models/llama.h"
#include "runtime/device.h"
#include "runtime/graph.h"
#include "runtime/kv_cache.h"
#include "runtime/ops.h"

using namespace vkllm;

namespace {

Tensor random_tensor(Device& d, DType t, int64_t rows, int64_t cols, float scale, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-scale, scale);
  std::vector<float> v(size_t(rows * cols));
  for (auto& x : v) x = u(rng);
  if (block_rows(t)) {  // quantized on the GPU, as a KV cache appends
    const Tensor values = random_tensor(d, DType::F32, rows, cols, scale, seed);
    Tensor out = d.tensor(t, rows, row_units(t, cols), "bench");
    Graph g(d);
    ops::copy_rows(g, values, out, 0);
    g.run();
    return out;
  }
  Tensor out = d.tensor(t, rows, cols, "bench");
  if (t == DType::F16)
    d.upload(out, to_f16(v).data());
  else
    d.upload(out, v.data());
  return out;
}

// Mean seconds per call of fn over `iters` calls after one warm-up call.
double time_it(int iters, const std::function<void()>& fn) {
  fn();
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < iters; ++i) fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / iters;
}

// Streaming read of host memory with `threads` threads: the roof of decode on a CPU device
// (weights are read once per token). Best of `iters` passes over `mib` MiB.
int bench_bandwidth(int64_t mib, int threads, int iters) {
  const size_t words = size_t(mib) << 17;  // 8-byte words
  std::vector<uint64_t> data(words);
  for (size_t i = 0; i < words; ++i) data[i] = i;
  std::vector<uint64_t> sums(static_cast<size_t>(threads));
  double best = 0;
  for (int it = 0; it < iters; ++it) {
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        const size_t begin = words * size_t(t) / size_t(threads), end = words * size_t(t + 1) / size_t(threads);
        uint64_t s = 0;
        for (size_t i = begin; i < end; ++i) s += data[i];
        sums[size_t(t)] = s;
      });
    for (auto& p : pool) p.join();
    best = std::max(best, double(words * 8) / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  uint64_t check = 0;
  for (uint64_t s : sums) check += s;
  std::printf("host streaming read, %d threads, %lld MiB: %.1f GB/s (checksum %llu)\n", threads, (long long)mib, best * 1e-9,
              (unsigned long long)check);
  return 0;
}

// The block formats the matvec benchmark quantizes to, with their quantizers.
struct BenchFormat {
  WeightFormat format;
  std::vector<uint8_t> (*quantize)(std::span<const float>);
};
const std::map<std::string, BenchFormat> kBenchFormats{{"q8_0", {WeightFormat::Q8_0, quantize_q8_0}},
                                                       {"q4_0", {WeightFormat::Q4_0, quantize_q4_0}},
                                                       {"q4_k", {WeightFormat::Q4_K, quantize_q4_k}},
                                                       {"q5_k", {WeightFormat::Q5_K, quantize_q5_k}},
                                                       {"q6_k", {WeightFormat::Q6_K, quantize_q6_k}}};

// type: "f32", "f16" or (matvec only) a block format.
int bench_product(Device& dev, bool matvec, int64_t rows, int64_t cols, int64_t vectors, const std::string& type,
                  int iters, int batch) {
  Graph g(dev);
  std::vector<Weight> weights;  // distinct matrices, so none is served from a cache
  Tensor x = random_tensor(dev, DType::F32, vectors, cols, 1, 2), y = dev.tensor(DType::F32, vectors, rows, "y");
  double bytes_per_weight = 4;
  for (int b = 0; b < batch; ++b) {
    if (auto f = kBenchFormats.find(type); f != kBenchFormats.end()) {
      Tensor values = random_tensor(dev, DType::F32, rows, cols, 1, 3 + uint32_t(b));
      weights.push_back(Weight::from_blocks(dev, f->second.format, rows, cols, f->second.quantize(dev.download<float>(values)), "w"));
      const BlockLayout l = block_layout(f->second.format);
      bytes_per_weight = double(l.file_bytes) / double(l.values);
      ops::matmul(g, weights.back(), x, y);
    } else {
      const DType dt = type == "f16" ? DType::F16 : type == "q8_0" ? DType::Q8_0 : type == "q4_0" ? DType::Q4_0 : DType::F32;
      bytes_per_weight = dtype_size(dt);
      weights.push_back(Weight::plain(random_tensor(dev, dt, rows, cols, 1, 3 + uint32_t(b))));
      matvec ? ops::matvec_kernel(g, weights.back().values, x, y) : ops::matmul_kernel(g, weights.back().values, x, y);
    }
  }
  const double s = time_it(iters, [&] { g.run(); }) / batch;
  const double bytes = double(rows) * cols * bytes_per_weight, flops = 2.0 * rows * cols * vectors;
  std::printf("%s %s %lldx%lld x %lld vectors: %.3f ms, %.2f GB/s of weights, %.2f GFLOP/s\n", matvec ? "matvec" : "matmul",
              type.c_str(), (long long)rows, (long long)cols, (long long)vectors, s * 1e3, bytes / s * 1e-9, flops / s * 1e-9);
  return 0;
}

int bench_attention(Device& dev, int64_t context, int heads, int kv_heads, int head_dim, DType dt, int iters) {
  const int64_t width = int64_t(kv_heads) * head_dim;
  Tensor q = random_tensor(dev, DType::F32, 1, int64_t(heads) * head_dim, 1, 1);
  Tensor k = random_tensor(dev, dt, context, width, 1, 2), v = random_tensor(dev, dt, context, width, 1, 3);
  std::vector<int32_t> pos(static_cast<size_t>(context));
  for (int64_t i = 0; i < context; ++i) pos[size_t(i)] = int32_t(i);
  Tensor kp = dev.tensor(DType::I32, 1, context), qp = dev.tensor(DType::I32, 1, 1), out = dev.tensor(DType::F32, 1, q.cols);
  dev.upload(kp, pos.data());
  dev.upload(qp, &pos.back());
  ops::AttentionParams a;
  a.n_heads = heads;
  a.n_kv_heads = kv_heads;
  a.head_dim = head_dim;
  Graph g(dev);
  ops::attention(g, q, k, v, kp, qp, out, a);
  const double s = time_it(iters, [&] { g.run(); });
  const double bytes = 2.0 * double(context) * double(k.row_bytes());
  std::printf("decode attention %s, context %lld, %d heads (%d kv) x %d: %.3f ms, %.2f GB/s of K/V\n", dtype_name(dt),
              (long long)context, heads, kv_heads, head_dim, s * 1e3, bytes / s * 1e-9);
  return 0;
}

// A Llama model with random f16 weights (half-split RoPE, a small vocabulary): recomputing
// cache entries means running it over the tokens again.
std::unique_ptr<LlamaModel> synthetic_llama(Device& dev, int layers, int dim, int heads, int ffn, int context) {
  LlamaConfig c;
  c.dim = dim;
  c.hidden = ffn;
  c.n_layers = layers;
  c.n_heads = c.n_kv_heads = heads;
  c.vocab = 256;
  c.context = context;
  c.rope.head_dim = c.head_dim();
  c.rope.pairing = RopePairing::HalfSplit;
  uint32_t seed = 100;
  auto matrix = [&](int64_t rows, int64_t cols) {
    return Weight::plain(random_tensor(dev, DType::F16, rows, cols, 0.05f, seed++));
  };
  LlamaWeights w;
  w.token_embd = Weight::plain(random_tensor(dev, DType::F32, c.vocab, dim, 1, seed++));
  w.output_norm = random_tensor(dev, DType::F32, 1, dim, 1, seed++);
  w.output = w.token_embd;
  for (int l = 0; l < layers; ++l)
    w.layers.push_back({w.output_norm, {{matrix(3 * dim, dim)}}, {}, matrix(dim, dim), w.output_norm, {{matrix(2 * ffn, dim)}},
                        matrix(dim, ffn)});
  return std::make_unique<LlamaModel>(dev, c, std::move(w));
}

// Seconds for one forward pass over n tokens (after a warm-up pass that records the graph).
double time_forward(Device& dev, LlamaModel& model, int64_t n) {
  std::vector<int32_t> tokens(static_cast<size_t>(n)), pos(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) tokens[size_t(i)] = int32_t(i % 256), pos[size_t(i)] = int32_t(i);
  KvCache warm(dev, model.cache_config(n, DType::F16)), timed(dev, model.cache_config(n, DType::F16));
  model.forward(warm, tokens, pos);
  const auto t0 = std::chrono::steady_clock::now();
  model.forward(timed, tokens, pos);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int bench_kv(Device& dev, int64_t entries, int layers, int dim, int heads, int ffn, DType type, int iters) {
  const int64_t prefix = 64;  // a priming prefix dropped by select
  auto model = synthetic_llama(dev, layers, dim, heads, ffn, int(1 + prefix + entries));
  const KvCacheConfig kc = model->cache_config(1 + prefix + entries, type);
  KvCache full(dev, kc);
  std::vector<int32_t> pos(static_cast<size_t>(kc.capacity));
  for (size_t i = 0; i < pos.size(); ++i) pos[i] = int32_t(i);
  full.reserve(pos);  // contents are irrelevant to the timing
  std::vector<int64_t> keep{0};
  for (int64_t s = 1 + prefix; s < kc.capacity; ++s) keep.push_back(s);
  const double row_bytes = double(full.bytes_per_entry()) / 2 / kc.n_layers;  // one K or V row (no anchors yet)

  auto work = full.fork();
  const double t_select = time_it(iters, [&] {
    full.copy_to(*work);
    work->select(keep);
  });
  const double t_copy = time_it(iters, [&] { full.copy_to(*work); });
  const double sel = t_select - t_copy;
  work->select(keep);  // the document after the prefix: positions 1 + prefix onwards
  int sign = 1;
  const double t_repo = time_it(iters, [&] { work->reposition(1, entries, (sign = -sign) * int32_t(prefix)); });
  const double t_fwd = time_forward(dev, *model, entries);
  // select reads and writes K and V twice (gather into scratch, copy back); reposition reads K
  // (f32: in place; others: their anchors, then f32 scratch) and writes K.
  const double sel_bytes = 4.0 * 2 * layers * double(keep.size()) * row_bytes, repo_bytes = 2.0 * layers * entries * row_bytes;
  std::printf("kv cache %s, %d layers x %d wide, %lld entries:\n", kc.types.describe().c_str(), layers, dim, (long long)entries);
  std::printf("  select (keep BOS + %lld of %lld): %.3f ms, %.2f GB/s\n", (long long)entries, (long long)kc.capacity,
              sel * 1e3, sel_bytes / sel * 1e-9);
  std::printf("  reposition %lld entries:        %.3f ms, %.2f GB/s\n", (long long)entries, t_repo * 1e3,
              repo_bytes / t_repo * 1e-9);
  std::printf("  recompute by a forward pass:   %.3f ms (%.0fx select + reposition)\n", t_fwd * 1e3,
              t_fwd / (sel + t_repo));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vkllm kernel benchmarks"};
  app.require_subcommand(1);
  int64_t rows = 4096, cols = 4096, mv_vectors = 1, mm_vectors = 128, context = 1024, entries = 1024;
  int iters = 10, batch = 8, heads = 12, kv_heads = 12, head_dim = 64, layers = 12, dim = 768, ffn = 2048;
  std::string type = "f16";
  auto type_option = [&](CLI::App* c, std::vector<std::string> types) {
    c->add_option("--type", type)->check(CLI::IsMember(types));
  };
  int64_t mib = 1024;
  int threads = int(std::max(1u, std::thread::hardware_concurrency()));
  auto* bw = app.add_subcommand("bandwidth", "streaming read of host memory: the decode roof on CPU devices");
  bw->add_option("--mib", mib);
  bw->add_option("--threads", threads);
  auto* mv = app.add_subcommand("matvec", "y = W x: GB/s of weights read");
  mv->add_option("--rows", rows);
  mv->add_option("--cols", cols);
  mv->add_option("--vectors", mv_vectors, "rows of x");
  mv->add_option("--batch", batch, "matvecs per command buffer (distinct weights)");
  auto* mm = app.add_subcommand("matmul", "Y = X W^T with the tiled kernel: GFLOP/s");
  mm->add_option("--rows", rows);
  mm->add_option("--cols", cols);
  mm->add_option("--vectors", mm_vectors, "rows of X");
  auto* at = app.add_subcommand("attention", "decode attention: GB/s of K/V read");
  at->add_option("--context", context);
  at->add_option("--heads", heads);
  at->add_option("--kv-heads", kv_heads);
  at->add_option("--head-dim", head_dim);
  auto* kv = app.add_subcommand("kv", "KV-cache select and reposition vs recomputing by a forward pass");
  kv->add_option("--entries", entries);
  kv->add_option("--layers", layers);
  kv->add_option("--dim", dim);
  kv->add_option("--heads", heads);
  kv->add_option("--ffn", ffn);
  kv->add_option("--type", type)->check(CLI::IsMember({"f16", "f32", "q8_0", "q4_0"}));
  for (auto* c : {bw, mv, mm, at, kv}) c->add_option("--iters", iters, "timed repetitions");
  type_option(mv, {"f16", "f32", "q8_0", "q4_0", "q4_k", "q5_k", "q6_k"});
  type_option(mm, {"f16", "f32"});
  type_option(at, {"f16", "f32", "q8_0", "q4_0"});
  CLI11_PARSE(app, argc, argv);
  if (*bw) return bench_bandwidth(mib, threads, iters);
  try {
    Device dev;
    std::printf("device: %s\n", dev.info().name.c_str());
    const DType dt = type == "f16" ? DType::F16 : type == "q8_0" ? DType::Q8_0 : type == "q4_0" ? DType::Q4_0 : DType::F32;
    if (*mv) return bench_product(dev, true, rows, cols, mv_vectors, type, iters, batch);
    if (*mm) return bench_product(dev, false, rows, cols, mm_vectors, type, iters, 1);
    if (*at) return bench_attention(dev, context, heads, kv_heads, head_dim, dt, iters);
    if (*kv) return bench_kv(dev, entries, layers, dim, heads, ffn, dt, iters);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vkllm-bench-kernels: %s\n", e.what());
    return 1;
  }
  return 0;
}
