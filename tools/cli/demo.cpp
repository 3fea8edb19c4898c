// `vkllm demo`: a small end-to-end use of the engine, checked against the host reference.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>

#include "host/half.h"
#include "host/reference/reference.h"
#include "runtime/device.h"
#include "runtime/error.h"
#include "runtime/graph.h"
#include "runtime/ops.h"
#include "tools/cli/commands.h"

namespace vkllm::cli {

namespace {

// A small end-to-end use of the engine: an f16-weight feed-forward block on the GPU,
// recorded once and replayed, checked against the host reference.
void demo() {
  Device dev;
  std::printf("device: %s (%s)\n", dev.info().name.c_str(), dev.caps().describe().c_str());
  const int64_t tokens = 8, dim = 512, hidden = 1376;
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  auto random = [&](int64_t r, int64_t c, float s) {
    ref::Mat m(r, c);
    for (auto& v : m.v) v = nd(rng) * s;
    return m;
  };
  ref::Mat x = random(tokens, dim, 1.0f), norm_w = random(1, dim, 0.1f), w_up = random(hidden, dim, 0.05f);
  for (auto& v : norm_w.v) v += 1.0f;
  for (auto& v : w_up.v) v = f16_to_f32(f32_to_f16(v));  // the GPU sees the same f16 values

  Tensor tx = dev.tensor(DType::F32, tokens, dim, "x"), tnorm = dev.tensor(DType::F32, 1, dim, "norm.weight");
  Tensor tw = dev.tensor(DType::F16, hidden, dim, "up.weight");
  Tensor th = dev.tensor(DType::F32, tokens, dim, "h"), tu = dev.tensor(DType::F32, tokens, hidden, "u");
  Tensor tp = dev.tensor(DType::F32, tokens, hidden, "p");
  dev.upload(tx, x.v.data());
  dev.upload(tnorm, norm_w.v.data());
  dev.upload(tw, to_f16(w_up.v).data());

  Graph g(dev);
  ops::rmsnorm(g, tx, tnorm, th, 1e-5f);
  ops::matmul(g, tw, th, tu);
  ops::silu(g, tu, tu);
  ops::softmax(g, tu, tp);
  auto t0 = std::chrono::steady_clock::now();
  g.run();
  auto t1 = std::chrono::steady_clock::now();
  const int replays = 10;
  for (int i = 0; i < replays; ++i) g.run();
  auto t2 = std::chrono::steady_clock::now();

  ref::Mat want = ref::softmax(ref::silu(ref::matmul(w_up, ref::rmsnorm(x, norm_w.v, 1e-5f))), hidden);
  auto got = dev.download<float>(tp);
  double max_err = 0;
  for (size_t i = 0; i < got.size(); ++i) max_err = std::max(max_err, double(std::fabs(got[i] - want.v[i])));
  std::printf("rmsnorm -> matmul (f16 %lldx%lld) -> silu -> softmax over %lld tokens: %zu dispatches, %u barriers\n",
              (long long)hidden, (long long)dim, (long long)tokens, g.dispatch_count(), g.barrier_count());
  std::printf("first run (records) %.2f ms, replay %.2f ms; max abs error vs host reference %.3g\n",
              std::chrono::duration<double, std::milli>(t1 - t0).count(),
              std::chrono::duration<double, std::milli>(t2 - t1).count() / replays, max_err);
  if (max_err >= 1e-5) throw Error("demo: the GPU result differs from the host reference");
}

}  // namespace

Command add_demo(CLI::App& app) {
  return {app.add_subcommand("demo", "run a small feed-forward block on the GPU and check it against the host"), demo};
}

}  // namespace vkllm::cli
