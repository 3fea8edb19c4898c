// Kernel benchmarks: prints figures (never asserts on time).
//   vkllm-bench-kernels matvec [--rows 4096] [--cols 4096] [--type f16|f32] [--iters 20]
#include <chrono>
#include <cstdio>
#include <random>
#include <string>

#include <CLI/CLI.hpp>

#include "host/half.h"
#include "runtime/device.h"
#include "runtime/graph.h"
#include "runtime/ops.h"

using namespace vkllm;

int main(int argc, char** argv) {
  CLI::App app{"vkllm kernel benchmarks"};
  app.require_subcommand(1);
  int64_t rows = 4096, cols = 4096, mv_vectors = 1, mm_vectors = 128;
  int iters = 20, batch = 8;
  std::string type = "f16";
  auto* mv = app.add_subcommand("matvec", "y = W x: GB/s of weights read");
  mv->add_option("--rows", rows);
  mv->add_option("--cols", cols);
  mv->add_option("--type", type)->check(CLI::IsMember({"f16", "f32"}));
  mv->add_option("--iters", iters, "timed replays");
  mv->add_option("--batch", batch, "matvecs per command buffer (distinct weights, so none is cached)");
  mv->add_option("--vectors", mv_vectors, "rows of x");
  auto* mm = app.add_subcommand("matmul", "Y = X W^T: GFLOP/s");
  mm->add_option("--rows", rows);
  mm->add_option("--cols", cols);
  mm->add_option("--vectors", mm_vectors, "rows of X");
  mm->add_option("--type", type)->check(CLI::IsMember({"f16", "f32"}));
  mm->add_option("--iters", iters);
  CLI11_PARSE(app, argc, argv);
  const int64_t vectors = *mv ? mv_vectors : mm_vectors;
  if (*mm) batch = 1;
  try {
    Device dev;
    const DType dt = type == "f16" ? DType::F16 : DType::F32;
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> ud(-1, 1);
    std::vector<float> wf(size_t(rows * cols));
    for (auto& v : wf) v = ud(rng);
    std::vector<float> xf(size_t(vectors * cols));
    for (auto& v : xf) v = ud(rng);
    auto wh = to_f16(wf);
    Graph g(dev);
    std::vector<Tensor> keep;
    Tensor x = dev.tensor(DType::F32, vectors, cols, "x"), y = dev.tensor(DType::F32, vectors, rows, "y");
    dev.upload(x, xf.data());
    for (int b = 0; b < batch; ++b) {
      Tensor w = dev.tensor(dt, rows, cols, "w");
      dev.upload(w, dt == DType::F16 ? static_cast<const void*>(wh.data()) : wf.data());
      keep.push_back(w);
      if (*mv)
        ops::matvec_kernel(g, w, x, y);
      else
        ops::matmul_kernel(g, w, x, y);
    }
    g.run();  // warm-up and record
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < iters; ++i) g.run();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / iters / batch;
    const double bytes = double(rows) * cols * dtype_size(dt);
    std::printf("device: %s\n", dev.info().name.c_str());
    if (*mv)
      std::printf("matvec %s %lldx%lld x %lld vectors: %.3f ms, %.2f GB/s of weights, %.2f GFLOP/s\n", type.c_str(),
                  (long long)rows, (long long)cols, (long long)vectors, s * 1e3, bytes / s * 1e-9,
                  2.0 * rows * cols * vectors / s * 1e-9);
    else
      std::printf("matmul %s %lldx%lld x %lld vectors: %.3f ms, %.2f GFLOP/s\n", type.c_str(), (long long)rows,
                  (long long)cols, (long long)vectors, s * 1e3, 2.0 * rows * cols * vectors / s * 1e-9);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vkllm-bench-kernels: %s\n", e.what());
    return 1;
  }
}
