// `vkllm logits` end to end: the .npy it writes holds llama2.c's logits for stories260K.
#include <cstdlib>
#include <filesystem>

#include "host/npy.h"
#include "tests/models/reference.h"
#include "tests/test_util.h"

using namespace vkllm;
using namespace vkllm::test;

TEST_CASE("vkllm logits writes the reference logits as .npy, and refuses a bad token id") {
  auto model = shared_data("models/stories260K.bin");
  auto sequences = reference_sequences("reference/stories260K-logits.jsonl", 512);
  if (!model || sequences.empty()) return;
  const auto& s = sequences[1];
  std::string tokens;
  for (int32_t t : s.tokens) {
    if (!tokens.empty()) tokens += ',';
    tokens += std::to_string(t);
  }
  const auto out = temp_path("cli-logits.npy");
  const std::string cli = VKLLM_CLI;
  REQUIRE(std::system((cli + " logits -m " + *model + " --tokens " + tokens + " -o " + out + " 2>/dev/null").c_str()) == 0);
  NpyArray got = read_npy_f32(out);
  CHECK(got.shape == s.logits.shape);
  float worst = 0;
  for (size_t i = 0; i < got.data.size(); ++i) worst = std::max(worst, std::fabs(got.data[i] - s.logits.data[i]));
  CHECK(worst <= 1e-3f);
  std::filesystem::remove(out);
  CHECK(std::system((cli + " logits -m " + *model + " --tokens 1,512 -o " + out + " 2>/dev/null").c_str()) != 0);
  CHECK_FALSE(std::filesystem::exists(out));
}
