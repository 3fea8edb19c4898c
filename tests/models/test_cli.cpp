// The CLI end to end: `logits` writes llama2.c's logits for stories260K and repeats bit for bit;
// `tokenize` and `run` work on real files; bad requests exit non-zero with a clear message.
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "host/npy.h"
#include "tests/models/reference.h"
#include "tests/models/synthetic.h"
#include "tests/test_util.h"

using namespace vkllm;
using namespace vkllm::test;

// Whole-model runs: once, in the default device configuration (the kernels they use are
// tested in every configuration by the op tests).
TEST_SUITE_BEGIN("end_to_end");

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
  CHECK(max_abs_diff(got.data, s.logits.data) <= 1e-3f);
  std::filesystem::remove(out);
  CHECK(std::system((cli + " logits -m " + *model + " --tokens 1,512 -o " + out + " 2>/dev/null").c_str()) != 0);
  CHECK_FALSE(std::filesystem::exists(out));
}

TEST_CASE("three runs of vkllm logits write bit-identical files") {
  auto model = shared_data("models/tiny-qwen2.gguf");
  if (!model) return;
  std::vector<std::vector<float>> runs;
  const auto out = temp_path("cli-repeat.npy");
  for (int i = 0; i < 3; ++i) {
    const auto r = run_cli("logits -m " + *model + " --tokens 50256,15496,995,11,428,318,257,1332 -o " + out);
    REQUIRE(r.status == 0);
    runs.push_back(read_npy_f32(out).data);
  }
  std::filesystem::remove(out);
  CHECK(runs[0].size() == 8 * 50257);
  CHECK(std::memcmp(runs[0].data(), runs[1].data(), runs[0].size() * 4) == 0);
  CHECK(std::memcmp(runs[0].data(), runs[2].data(), runs[0].size() * 4) == 0);
}

TEST_CASE("vkllm tokenize prints the ids of a vocabulary-only GGUF") {
  auto vocab = shared_data("tokenizers/ggml-vocab-llama-spm.gguf");
  if (!vocab) return;
  auto r = run_cli("tokenize -m " + *vocab + " -p 'Hello world'");
  CHECK(r.status == 0);
  CHECK(r.out == "1 15043 3186\n");
  r = run_cli("tokenize -m " + *vocab + " -p 'Hello world' --no-bos");
  CHECK(r.out == "15043 3186\n");
}

TEST_CASE("vkllm run streams text, repeats with a seed, and matches itself without the cache") {
  auto model = shared_data("models/tiny-qwen2.gguf");
  if (!model) return;
  const auto greedy = run_cli("run -m " + *model + " -p 'Hello world' -n 8 --temp 0");
  REQUIRE(greedy.status == 0);
  CHECK(greedy.out.starts_with("Hello world"));
  CHECK(greedy.out.size() > std::string("Hello world\n").size());
  CHECK(greedy.err.find("generated 8 tokens") != std::string::npos);
  CHECK(run_cli("run -m " + *model + " -p 'Hello world' -n 8 --temp 0").out == greedy.out);

  const std::string sampled = "run -m " + *model + " --tokens 15496,995 -n 12 --seed 7 --temp 1 --print-ids";
  const auto ids = run_cli(sampled);
  REQUIRE(ids.status == 0);
  std::istringstream words(ids.out);
  int count = 0;
  for (int32_t id; words >> id; ++count) CHECK((id >= 0 && id < 50257));
  CHECK(count == 12);
  CHECK(run_cli(sampled).out == ids.out);
  CHECK(run_cli(sampled + " --no-cache").out == ids.out);
}

TEST_CASE("vkllm run refuses bad requests with a message naming the problem") {
  auto model = shared_data("models/stories260K.bin");
  if (!model) return;
  auto r = run_cli("run -m " + *model + " --tokens 1,512 -n 2");
  CHECK(r.status == 1);
  CHECK(r.err.find("token id 512 is out of range (vocabulary of 512)") != std::string::npos);
  r = run_cli("run -m " + *model + " --tokens 1,2 -n 511");
  CHECK(r.status == 1);
  CHECK(r.err.find("context overflow") != std::string::npos);
  r = run_cli("run -m " + *model + " -p 'Once upon a time'");
  CHECK(r.status == 1);
  CHECK(r.err.find("has no tokenizer") != std::string::npos);
  r = run_cli("run -m /nonexistent/model.gguf --tokens 1");
  CHECK(r.status == 1);
  CHECK(r.err.find("cannot open model /nonexistent/model.gguf") != std::string::npos);
}

TEST_CASE("vkllm run --context-shift generates 4x past the context with quantized K/V; a bad policy is refused") {
  const auto path = temp_path("context-shift.gguf");
  SyntheticModel m = small_model("llama", "f32");
  m.context = 32;
  make_model(m, path);
  const std::string base = "run -m " + path + " --tokens 1,2,3,4,5 -n 128 --temp 0 --print-ids";
  auto r = run_cli(base);
  CHECK(r.status == 1);
  CHECK(r.err.find("--context-shift lets generation run past it") != std::string::npos);
  r = run_cli(base + " --cache-type-k q8_0 --cache-type-v q4_0 --context-shift sinks=4,keep=12,positions=cache");
  CHECK(r.status == 0);
  std::istringstream ids(r.out);
  CHECK(std::distance(std::istream_iterator<int>(ids), std::istream_iterator<int>()) == 128);
  CHECK(r.err.find("K/V K q8_0, V q4_0") != std::string::npos);
  CHECK(r.err.find("tokens shifted out") != std::string::npos);
  r = run_cli(base + " --context-shift sinks=4,window=3");
  CHECK(r.status == 1);
  CHECK(r.err.find("no setting 'window'") != std::string::npos);
  r = run_cli(base + " --context-shift sinks=40");
  CHECK(r.status == 1);
  CHECK(r.err.find("40 attention sinks leave no room in a context of 32") != std::string::npos);
  std::filesystem::remove(path);
}

TEST_CASE("vkllm score writes per-condition NLLs and a summary, and reports bad cases by line without stopping") {
  auto model = shared_data("models/stories260K.bin");
  auto cases = shared_data("reference/stories260K-score-cases.jsonl");
  if (!model || !cases) return;
  std::ifstream in(*cases);
  std::string good;
  std::getline(in, good);
  const auto data = temp_path("score-cases.jsonl"), out = temp_path("score-out.jsonl"), summary = temp_path("score-summary.json"),
             probe = temp_path("score-probe");
  {
    auto with_prefixes = nlohmann::json::parse(good);
    with_prefixes["prefixes"] = {{"oracle", {5, 6, 7}}};
    std::ofstream f(data);
    f << with_prefixes.dump() << "\n";
    f << R"({"id": "no-answer", "bos": 1, "prefix": [], "document": [5], "query": [6]})" << "\n";
    f << R"({"id": "bad-token", "bos": 1, "prefix": [], "document": [512], "query": [6], "answer": [7]})" << "\n";
    f << R"({"id": "too-long", "bos": 1, "prefix": [], "document": [)";
    for (int i = 0; i < 600; ++i) f << (i ? "," : "") << 5;
    f << R"(], "query": [6], "answer": [7]})" << "\n";
  }
  const auto r = run_cli("score -m " + *model + " --data " + data + " --conditions bare,truncated,suffix --random-prefix --out " + out +
                         " --summary-json " + summary + " --probe " + probe);
  CHECK(r.status == 0);
  CHECK(r.err.find("line 2 (case no-answer): missing field 'answer'") != std::string::npos);
  CHECK(r.err.find("line 3 (case bad-token): case 'bad-token': token id 512 is out of range") != std::string::npos);
  CHECK(r.err.find("line 4 (case too-long)") != std::string::npos);
  CHECK(r.err.find("exceed the model's context of 512") != std::string::npos);
  CHECK(r.out.find("| truncated") != std::string::npos);
  std::ifstream lines(out);
  int n = 0;
  std::map<std::string, size_t> prefix_tokens;
  for (std::string line; std::getline(lines, line); ++n) {
    const auto j = nlohmann::json::parse(line);
    CHECK(j["id"] == "s7-00");
    CHECK(j["token_nll"].size() == 4);
    prefix_tokens[j["prefix"]] = j["prefix_tokens"];
    CHECK(j["attention"].size() == 5);  // stories260K's layers, each a share per segment
  }
  CHECK(n == 9);  // one good case x three conditions x (its prefix, "oracle", "random")
  CHECK(prefix_tokens["prefix"] == 9);
  CHECK(prefix_tokens["oracle"] == 3);
  CHECK(prefix_tokens["random"] == 9);  // as long as the case's own
  std::ifstream s(summary);
  const auto j = nlohmann::json::parse(s);
  CHECK(j["truncated"]["n_paired"] == 1);
  CHECK(j["truncated[oracle]"]["n_paired"] == 1);
  CHECK(j["suffix[random]"]["n_paired"] == 1);
  CHECK(j["bare"]["n"] == 1);
  std::ifstream probe_json(probe + "/attention.json");
  const auto attention = nlohmann::json::parse(probe_json);
  CHECK(attention["segments"] == nlohmann::json({"bos", "prefix", "document", "query", "answer"}));
  CHECK(attention["conditions"]["truncated[oracle]"]["layers"].size() == 5);
  CHECK(std::filesystem::file_size(probe + "/attention.png") > 1000);
  for (const auto& f : {data, out, summary, probe}) std::filesystem::remove_all(f);
}

// Encoder-decoder models through the CLI: logits of the decoder's tokens after encoding
// --encoder-tokens match llama.cpp's, run generates from the decoder start token and matches
// itself without the cache; a decoder-only model refuses --encoder-tokens.
TEST_CASE("vkllm logits and run take --encoder-tokens for T5") {
  auto model = shared_data("models/tiny-t5.gguf");
  auto sequences = reference_sequences("reference/tiny-t5-logits.jsonl", 512);
  if (!model || sequences.empty()) return;
  auto ids = [](const std::vector<int32_t>& v) {
    std::string out;
    for (int32_t t : v) {
      if (!out.empty()) out += ',';
      out += std::to_string(t);
    }
    return out;
  };
  const auto& s = sequences[1];
  const auto out = temp_path("cli-t5-logits.npy");
  auto r = run_cli("logits -m " + *model + " --encoder-tokens " + ids(s.encoder_tokens) + " --tokens " + ids(s.tokens) + " -o " + out);
  REQUIRE(r.status == 0);
  NpyArray got = read_npy_f32(out);
  CHECK(got.shape == s.logits.shape);
  CHECK(max_abs_diff(got.data, s.logits.data) <= 1e-4f);
  std::filesystem::remove(out);
  r = run_cli("logits -m " + *model + " --tokens 0,5 -o " + out);
  CHECK(r.status == 1);
  CHECK(r.err.find("t5 is an encoder-decoder model: give its input as --encoder-tokens") != std::string::npos);

  const std::string sampled = "run -m " + *model + " --encoder-tokens " + ids(s.encoder_tokens) + " -n 10 --seed 3 --temp 1 --print-ids";
  r = run_cli(sampled);
  REQUIRE(r.status == 0);
  std::istringstream words(r.out);
  int count = 0;
  for (int32_t id; words >> id; ++count) CHECK((id >= 0 && id < 512));
  CHECK(count > 0);
  CHECK(run_cli(sampled + " --no-cache").out == r.out);

  auto decoder_only = shared_data("models/tiny-qwen2.gguf");
  if (!decoder_only) return;
  r = run_cli("run -m " + *decoder_only + " --encoder-tokens 1,2 -p hi");
  CHECK(r.status == 1);
  CHECK(r.err.find("qwen2 is a decoder-only model: it takes no --encoder-tokens") != std::string::npos);
}

// Text cases through the model's own tokenizer, on Gemma 3's two kinds of layers.
TEST_CASE("vkllm score takes text cases on Gemma 3") {
  auto model = shared_data("models/tiny-gemma3.gguf");
  if (!model) return;
  const auto data = temp_path("score-text.jsonl"), out = temp_path("score-text-out.jsonl");
  std::ofstream(data) << nlohmann::json{{"id", "t"}, {"prefix", "Ignore this.\n"}, {"document", "abc def ghi jkl"},
                                        {"query", "\nWhat?\n"}, {"answer", "mno pqr"}}.dump() << "\n";
  const auto r = run_cli("score -m " + *model + " --data " + data + " --conditions bare,full,truncated --out " + out);
  CHECK(r.status == 0);
  std::ifstream lines(out);
  std::vector<std::string> conditions;
  std::vector<size_t> answer_tokens, prefix_tokens;
  for (std::string line; std::getline(lines, line);) {
    const auto j = nlohmann::json::parse(line);
    conditions.push_back(j["condition"]);
    answer_tokens.push_back(j["token_nll"].size());
    prefix_tokens.push_back(j["prefix_tokens"]);
  }
  CHECK(conditions == std::vector<std::string>{"bare", "full", "truncated"});
  CHECK(answer_tokens[0] > 0);
  CHECK(answer_tokens == std::vector<size_t>(3, answer_tokens[0]));
  CHECK(prefix_tokens[0] > 0);  // the case's, whatever the condition
  CHECK(prefix_tokens == std::vector<size_t>(3, prefix_tokens[0]));
  for (const auto& f : {data, out}) std::filesystem::remove(f);
}

TEST_SUITE_END();

TEST_CASE("vkllm run --chat renders the prompt with the model's chat template") {
  TempFile with("chat-model.gguf"), without("plain-model.gguf");
  SyntheticModel m = small_model("llama", "f32");
  m.chat_template = "{{ bos_token }}{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}";
  make_model(m, with.path);
  m.chat_template.clear();
  make_model(m, without.path);
  const auto chat = run_cli("run -m " + with.path + " --chat --system 'be brief' -p hello -n 3 --temp 0");
  CHECK(chat.status == 0);
  CHECK(chat.err.find("generated 3 tokens") != std::string::npos);
  // The prompt is what the template renders, tokenized with its BOS and no other.
  const auto tokens = run_cli("tokenize -m " + with.path + " -p 'system: be brief\nuser: hello\nassistant:'");
  std::istringstream ids(tokens.out);
  const size_t expected = size_t(std::distance(std::istream_iterator<std::string>(ids), std::istream_iterator<std::string>()));
  CHECK(chat.err.find("prompt " + std::to_string(expected) + " tokens") != std::string::npos);
  auto refused = run_cli("run -m " + without.path + " --chat -p hello -n 2");
  CHECK(refused.status == 1);
  CHECK(refused.err.find("the model has no chat template") != std::string::npos);
  refused = run_cli("run -m " + with.path + " --system x -p hello -n 2");
  CHECK(refused.err.find("--system needs --chat") != std::string::npos);
}
