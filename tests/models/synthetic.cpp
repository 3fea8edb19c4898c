#include "tests/models/synthetic.h"

#include <atomic>
#include <filesystem>

namespace vkllm::test {

SyntheticModel small_model(const std::string& arch, const std::string& type) {
  SyntheticModel m;
  m.arch = arch;
  m.type = type;
  m.dim = 64, m.layers = 2, m.heads = 4, m.ffn = 128, m.vocab = 300, m.context = 64;
  m.kv_heads = arch == "gpt2" || arch == "chatglm6b" || arch == "t5" || arch == "bart" ? 4 : 2;  // as many kv heads as heads
  if (arch == "gemma2" || arch == "gemma3" || arch == "t5gemma" || arch == "t5gemma2") {
    m.head_dim = 32;  // wider than dim / heads, as in Gemma
    m.sliding_window = 8;
  }
  if (arch == "t5gemma2") m.layers = 6;  // Gemma 3's pattern: five sliding layers, then a global one
  return m;
}

LoadedModel load_synthetic(const SyntheticModel& m, Device& device) {
  static std::atomic<int> written{0};
  const auto path = temp_path("synthetic-" + std::to_string(written++) + "-" + m.arch + "-" + m.type + ".gguf");
  make_model(m, path);
  LoadedModel loaded = load_model(device, path);
  std::filesystem::remove(path);
  return loaded;
}

}  // namespace vkllm::test
