// vkllm command-line interface.
#include <chrono>
#include <filesystem>
#include <numeric>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "host/half.h"
#include "host/npy.h"
#include "models/load.h"
#include "models/make_model.h"
#include "host/reference.h"
#include "runtime/device.h"
#include "runtime/error.h"
#include "runtime/graph.h"
#include "runtime/kv_cache.h"
#include "runtime/ops.h"

using namespace vkllm;

namespace {

std::string human_bytes(uint64_t b) {
  char buf[32];
  const char* unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = double(b);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
  return buf;
}

const char* yes(bool b) { return b ? "yes" : "no"; }

int cmd_devices() {
  Instance instance;
  auto devices = enumerate_devices(instance);
  const uint32_t chosen = select_device(devices, DeviceOptions().select);
  for (auto& d : devices) {
    std::printf("Device %u: %s%s\n", d.index, d.name.c_str(), d.index == chosen ? "  [selected]" : "");
    std::printf("  vendor                 %s (0x%04x), device 0x%04x\n", vendor_name(d.vendor_id).c_str(), d.vendor_id, d.device_id);
    std::printf("  type                   %s\n", device_type_name(d.type));
    std::printf("  driver                 %s, %s (version %s)\n", d.driver_name.empty() ? "?" : d.driver_name.c_str(),
                d.driver_info.c_str(), format_driver_version(d).c_str());
    std::printf("  Vulkan API             %s\n", format_version(d.api_version).c_str());
    for (size_t h = 0; h < d.heaps.size(); ++h)
      std::printf("  memory heap %zu          %s%s\n", h, human_bytes(d.heaps[h].size).c_str(),
                  d.heaps[h].device_local ? ", device-local" : "");
    if (d.subgroup_size_control)
      std::printf("  subgroup size          %u (min %u, max %u, size control)\n", d.subgroup_size, d.min_subgroup_size,
                  d.max_subgroup_size);
    else
      std::printf("  subgroup size          %u\n", d.subgroup_size);
    std::printf("  subgroup arithmetic    %s\n", yes(d.subgroup_arithmetic));
    std::printf("  shaderFloat16          %s\n", yes(d.shader_float16));
    std::printf("  shaderInt8             %s\n", yes(d.shader_int8));
    std::printf("  16-bit storage         %s\n", yes(d.storage_buffer_16bit));
    std::printf("  8-bit storage          %s\n", yes(d.storage_buffer_8bit));
    std::printf("  integer dot product    %s\n", yes(d.integer_dot_product));
    std::printf("  cooperative matrix     %s\n", yes(d.cooperative_matrix));
    std::printf("  maxStorageBufferRange  %s\n", human_bytes(d.max_storage_buffer_range).c_str());
    std::printf("  maxMemoryAllocation    %s\n", human_bytes(d.max_memory_allocation_size).c_str());
    std::printf("  max shared memory      %s\n", human_bytes(d.max_compute_shared_memory).c_str());
    std::printf("  max workgroup size     %u x %u x %u, %u invocations\n", d.max_workgroup_size[0], d.max_workgroup_size[1],
                d.max_workgroup_size[2], d.max_workgroup_invocations);
    std::printf("  vkllm capabilities     %s\n", Capabilities::from(d).describe().c_str());
  }
  return 0;
}

// A small end-to-end use of the engine: an f16-weight feed-forward block on the GPU,
// recorded once and replayed, checked against the host reference.
int cmd_demo() {
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
  return max_err < 1e-5 ? 0 : 1;
}

std::vector<int32_t> parse_tokens(const std::string& list) {
  std::vector<int32_t> out;
  size_t at = 0;
  while (at < list.size()) {
    const size_t comma = list.find(',', at);
    const std::string item = list.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    char* end = nullptr;
    const long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v < 0 || v > INT32_MAX) throw Error("--tokens: '" + item + "' is not a token id");
    out.push_back(int32_t(v));
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  if (out.empty()) throw Error("--tokens: no token ids given");
  return out;
}

// Logits for every position of a token sequence (positions 0..n-1, one prefill), as .npy.
int cmd_logits(const std::string& model_path, const std::string& tokens_arg, const std::string& out_path) {
  Device dev;
  auto model = load_model(dev, model_path);
  const auto tokens = parse_tokens(tokens_arg);
  if (int64_t(tokens.size()) > model->config().context)
    throw Error(std::to_string(tokens.size()) + " tokens exceed the model's context of " +
                std::to_string(model->config().context));
  std::vector<int32_t> positions(tokens.size());
  for (size_t i = 0; i < positions.size(); ++i) positions[i] = int32_t(i);
  KvCache cache(dev, model->cache_config(int64_t(tokens.size())));
  const auto logits = model->forward(cache, tokens, positions);
  write_npy_f32(out_path, {int64_t(tokens.size()), model->config().vocab}, logits);
  std::fprintf(stderr, "wrote %s: %zu x %d logits\n", out_path.c_str(), tokens.size(), model->config().vocab);
  return 0;
}

struct BenchOptions {
  std::string model;
  int prompt = 128, generate = 32, repetitions = 3;
  bool json = false;
};

double mean(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / double(v.size()); }
double stddev(const std::vector<double>& v) {
  if (v.size() < 2) return 0.0;
  const double m = mean(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / double(v.size() - 1));
}

// Prompt processing (one prefill of -p tokens) and generation (-n single-token steps, logits read
// back each step as a sampler would), tokens/s over repetitions after one warm-up, like llama-bench.
int cmd_bench(const BenchOptions& o) {
  Device dev;
  const auto t_load = std::chrono::steady_clock::now();
  auto model = load_model(dev, o.model);
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();
  const auto& c = model->config();
  if (o.prompt < 1 || o.generate < 1 || o.repetitions < 1) throw Error("bench: -p, -n and -r must be positive");
  if (o.prompt + o.generate > c.context)
    throw Error("bench: prompt + generated tokens (" + std::to_string(o.prompt + o.generate) + ") exceed the model's context of " +
                std::to_string(c.context));
  std::mt19937 rng(1);
  std::uniform_int_distribution<int32_t> token(0, c.vocab - 1);
  std::vector<int32_t> prompt(size_t(o.prompt)), positions(size_t(o.prompt));
  for (int i = 0; i < o.prompt; ++i) prompt[size_t(i)] = token(rng), positions[size_t(i)] = i;
  std::vector<double> pp, tg;
  for (int rep = -1; rep < o.repetitions; ++rep) {  // rep -1: warm-up (records graphs, builds pipelines)
    KvCache cache(dev, model->cache_config(o.prompt + o.generate));
    auto t0 = std::chrono::steady_clock::now();
    model->forward(cache, prompt, positions);
    auto t1 = std::chrono::steady_clock::now();
    for (int i = 0; i < o.generate; ++i) {
      const int32_t next = token(rng), pos = o.prompt + i;
      model->forward(cache, {&next, 1}, {&pos, 1});
    }
    auto t2 = std::chrono::steady_clock::now();
    if (rep < 0) continue;
    pp.push_back(o.prompt / std::chrono::duration<double>(t1 - t0).count());
    tg.push_back(o.generate / std::chrono::duration<double>(t2 - t1).count());
  }
  const std::string name = std::filesystem::path(o.model).filename().string();
  if (o.json) {
    std::printf("{\"model\": \"%s\", \"device\": \"%s\", \"n_prompt\": %d, \"n_gen\": %d, \"repetitions\": %d, "
                "\"load_s\": %.3f, \"pp_tps\": %.3f, \"pp_tps_sd\": %.3f, \"tg_tps\": %.3f, \"tg_tps_sd\": %.3f}\n",
                name.c_str(), dev.info().name.c_str(), o.prompt, o.generate, o.repetitions, load_s, mean(pp), stddev(pp),
                mean(tg), stddev(tg));
    return 0;
  }
  std::printf("| %-28s | %-32s | %8s | %18s |\n", "model", "device", "test", "t/s");
  std::printf("| %-28s | %-32s | %8s | %18s |\n", std::string(28, '-').c_str(), std::string(32, '-').c_str(), "--------",
              "------------------");
  char pp_name[32], tg_name[32];
  std::snprintf(pp_name, sizeof pp_name, "pp%d", o.prompt);
  std::snprintf(tg_name, sizeof tg_name, "tg%d", o.generate);
  for (auto [test, v] : {std::pair{pp_name, &pp}, std::pair{tg_name, &tg}})
    std::printf("| %-28s | %-32.32s | %8s | %10.2f ± %5.2f |\n", name.c_str(), dev.info().name.c_str(), test, mean(*v), stddev(*v));
  std::fprintf(stderr, "load %.2f s, %d repetitions\n", load_s, o.repetitions);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vkllm: LLM inference on any Vulkan GPU"};
  app.require_subcommand(1);
  std::string device;
  app.add_option("--device", device, "device index or name substring (default: VKLLM_DEVICE, else the best GPU)");
  auto* devices = app.add_subcommand("devices", "list Vulkan devices and what vkllm uses of them");
  auto* demo = app.add_subcommand("demo", "run a small feed-forward block on the GPU and check it against the host");
  std::string model_path, tokens_arg, out_path;
  auto* logits = app.add_subcommand("logits", "float32 logits [n_tokens, n_vocab] for every position, as .npy");
  logits->add_option("-m,--model", model_path, "GGUF file or llama2.c checkpoint")->required();
  logits->add_option("--tokens", tokens_arg, "comma-separated token ids, e.g. 1,2,3")->required();
  logits->add_option("-o,--output", out_path, "output .npy file")->required();
  BenchOptions bench_options;
  auto* bench = app.add_subcommand("bench", "prompt-processing and generation tokens/s, like llama-bench");
  bench->add_option("-m,--model", bench_options.model, "GGUF file or llama2.c checkpoint")->required();
  bench->add_option("-p,--n-prompt", bench_options.prompt, "prompt tokens (one prefill)");
  bench->add_option("-n,--n-gen", bench_options.generate, "generated tokens (one per step)");
  bench->add_option("-r,--repetitions", bench_options.repetitions, "timed repetitions after a warm-up");
  bench->add_flag("--json", bench_options.json, "print one JSON object");
  SyntheticModel synthetic;
  std::string synthetic_out;
  auto* make = app.add_subcommand("make-model", "write a random-weight model in standard GGUF conventions");
  make->add_option("--arch", synthetic.arch, "llama");
  make->add_option("--dim", synthetic.dim);
  make->add_option("--layers", synthetic.layers);
  make->add_option("--heads", synthetic.heads);
  make->add_option("--kv-heads", synthetic.kv_heads);
  make->add_option("--ffn", synthetic.ffn);
  make->add_option("--vocab", synthetic.vocab);
  make->add_option("--context", synthetic.context);
  make->add_option("--type", synthetic.type, "f16 or q8_0");
  make->add_option("--seed", synthetic.seed);
  make->add_option("-o,--output", synthetic_out, "output .gguf file")->required();
  CLI11_PARSE(app, argc, argv);
  if (!device.empty()) setenv("VKLLM_DEVICE", device.c_str(), 1);
  try {
    if (*devices) return cmd_devices();
    if (*demo) return cmd_demo();
    if (*logits) return cmd_logits(model_path, tokens_arg, out_path);
    if (*bench) return cmd_bench(bench_options);
    if (*make) {
      make_model(synthetic, synthetic_out);
      std::fprintf(stderr, "wrote %s\n", synthetic_out.c_str());
      return 0;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vkllm: %s\n", e.what());
    return 1;
  }
  return 0;
}
