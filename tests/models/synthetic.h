#pragma once
// Small random-weight models for tests, written by make-model in standard GGUF.
#include <string>

#include "models/load.h"
#include "models/make_model.h"
#include "tests/test_util.h"

namespace vkllm::test {

// dim 64, 2 layers, 4 heads (2 kv heads where the architecture groups queries), ffn 128,
// vocab 300, context 64.
SyntheticModel small_model(const std::string& arch = "llama", const std::string& type = "f16");

// Writes `m` to a temporary GGUF, loads it on `device` and removes the file.
LoadedModel load_synthetic(const SyntheticModel& m, Device& device = gpu());

}  // namespace vkllm::test
