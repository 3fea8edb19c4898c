#include "models/load.h"

#include <cstring>
#include <fstream>

#include "models/gguf.h"
#include "models/llama2c.h"
#include "models/llama_gguf.h"
#include "runtime/error.h"

namespace vkllm {

std::unique_ptr<LlamaModel> load_model(Device& device, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open model " + path);
  char magic[4] = {};
  in.read(magic, 4);
  if (std::memcmp(magic, "GGUF", 4) == 0) {
    GgufFile file(path);
    return load_llama_gguf(device, file);
  }
  return load_llama2c(device, path);
}

}  // namespace vkllm
