// ChatGLM-6B and ChatGLM2 against the Hugging Face reference outputs of chatglm.cpp's tiny
// models (../shared/data/chatglm/*.data): a 3-token prompt in one step, then two tokens decoded
// through the KV cache. The files hold final-normed hidden states, read here through an identity
// output matrix.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "host/engine/session.h"
#include "models/chatglm.h"
#include "models/gguf.h"
#include "models/gguf_writer.h"
#include "models/load.h"
#include "tests/models/safetensors_writer.h"
#include "models/llama.h"
#include "tests/test_util.h"

using namespace vkllm;
using namespace vkllm::test;
namespace fs = std::filesystem;

TEST_SUITE_BEGIN("end_to_end");

namespace {

// Reads the raw little-endian file front to back.
class DataFile {
 public:
  explicit DataFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    bytes_.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::vector<float> floats(size_t n) { return take<float>(n); }
  std::vector<int32_t> ints(size_t n) { return take<int32_t>(n); }
  bool at_end() const { return at_ == bytes_.size(); }

 private:
  template <class T>
  std::vector<T> take(size_t n) {
    REQUIRE(at_ + n * sizeof(T) <= bytes_.size());
    std::vector<T> v(n);
    std::memcpy(v.data(), bytes_.data() + at_, n * sizeof(T));
    at_ += n * sizeof(T);
    return v;
  }
  std::vector<char> bytes_;
  size_t at_ = 0;
};

Tensor upload(const std::vector<float>& v, int64_t rows, int64_t cols) {
  Tensor t = gpu().tensor(DType::F32, rows, cols, "glm");
  gpu().upload(t, v.data());
  return t;
}

std::vector<float> identity(int n) {
  std::vector<float> m(size_t(n) * size_t(n), 0.0f);
  for (int i = 0; i < n; ++i) m[size_t(i) * size_t(n) + size_t(i)] = 1.0f;
  return m;
}


// The reference steps that follow the weights in both files: a 3-token prompt, then two
// single tokens, each with its expected hidden states.
struct Steps {
  std::vector<int32_t> x1, x2, x3;
  std::vector<float> y1, y2, y3;
};
Steps read_steps(DataFile& data, int64_t dim) {
  Steps s;
  s.x1 = data.ints(3);
  s.y1 = data.floats(3 * size_t(dim));
  s.x2 = data.ints(1);
  s.y2 = data.floats(size_t(dim));
  s.x3 = data.ints(1);
  s.y3 = data.floats(size_t(dim));
  REQUIRE(data.at_end());
  return s;
}

// The tiny ChatGLM-6B of glm_model.data, and its reference steps.
struct GlmCase {
  std::unique_ptr<ChatGlmModel> model;
  Steps steps;
};

GlmCase load_glm_case(const std::string& path) {
  ChatGlmConfig c;
  c.dim = 32, c.hidden = 128, c.n_layers = 1, c.n_heads = 8, c.context = 16;
  c.vocab = c.dim;  // the identity output matrix returns the hidden state as "logits"
  // The reference model was built from ChatGLM-6B's config with one layer instantiated, but its
  // residual scale still comes from num_layers = 28: sqrt(56) reproduces it to 2e-7, while
  // sqrt(2 * 1) misses by 1.0.
  c.alpha = std::sqrt(56.0f);
  // The reference prompt [0, 1, 2] has positions [0, 1, 1] and block positions [0, 0, 1]: the
  // generation scheme with token 1 as [gMASK] and token 2 as BOS.
  c.gmask_id = 1, c.bos_id = 2;
  const int64_t d = c.dim, f = c.hidden;
  DataFile data(path);
  ChatGlmWeights w;
  w.token_embd = Weight::plain(upload(data.floats(5 * d), 5, d));
  ChatGlmLayer L;
  L.attn_norm = upload(data.floats(d), 1, d);
  L.attn_norm_bias = upload(data.floats(d), 1, d);
  const auto qkv = data.floats(3 * d * d), qkv_bias = data.floats(3 * d);
  std::vector<float> w_qkv, b_qkv;  // reordered to [all q; all k; all v]
  for (int64_t r : chatglm_qkv_rows(c.n_heads, c.head_dim())) {
    w_qkv.insert(w_qkv.end(), qkv.begin() + r * d, qkv.begin() + (r + 1) * d);
    b_qkv.push_back(qkv_bias[size_t(r)]);
  }
  set_fused_qkv(L, Weight::plain(upload(w_qkv, 3 * d, d)), upload(b_qkv, 1, 3 * d), d);
  L.wo = Weight::plain(upload(data.floats(d * d), d, d));
  L.bo = upload(data.floats(d), 1, d);
  L.ffn_norm = upload(data.floats(d), 1, d);
  L.ffn_norm_bias = upload(data.floats(d), 1, d);
  L.w_up = Weight::plain(upload(data.floats(f * d), f, d));
  L.b_up = upload(data.floats(f), 1, f);
  L.w_down = Weight::plain(upload(data.floats(d * f), d, f));
  L.b_down = upload(data.floats(d), 1, d);
  w.layers.push_back(L);
  w.output_norm = upload(data.floats(d), 1, d);
  w.output_norm_bias = upload(data.floats(d), 1, d);
  w.output = Weight::plain(upload(identity(c.dim), d, d));
  Steps steps = read_steps(data, d);
  return GlmCase{std::make_unique<ChatGlmModel>(gpu(), c, std::move(w)), std::move(steps)};
}

}  // namespace

TEST_CASE_FIXTURE(GpuTest, "ChatGLM-6B: 2D RoPE, prefix-LM prompt and GLM residuals match the reference, through the cache") {
  auto path = shared_data("chatglm/glm_model.data");
  if (!path) return;
  GlmCase t = load_glm_case(*path);
  ChatGlmModel& model = *t.model;
  const auto &x1 = t.steps.x1, &x2 = t.steps.x2, &x3 = t.steps.x3;
  const auto &y1 = t.steps.y1, &y2 = t.steps.y2, &y3 = t.steps.y3;
  KvCache cache(gpu(), model.cache_config(8));
  // Step 1: tokens 0-1 are the bidirectional prefix, token 2 is causal.
  const auto got1 = model.forward(cache, x1, std::vector<int32_t>{0, 1, 1}, {.block_positions = std::vector<int32_t>{0, 0, 1}, .prefix = 2});
  CHECK(max_abs_diff(got1, y1) <= 1e-4f);
  // Steps 2 and 3: generated tokens keep position 1 while the block position counts on.
  const auto got2 = model.forward(cache, x2, std::vector<int32_t>{1}, {.block_positions = std::vector<int32_t>{2}, .prefix = 2});
  CHECK(max_abs_diff(got2, y2) <= 1e-4f);
  const auto got3 = model.forward(cache, x3, std::vector<int32_t>{1}, {.block_positions = std::vector<int32_t>{3}, .prefix = 2});
  CHECK(max_abs_diff(got3, y3) <= 1e-4f);
  MESSAGE("ChatGLM-6B max abs error: y1 " << max_abs_diff(got1, y1) << ", y2 " << max_abs_diff(got2, y2) << ", y3 " << max_abs_diff(got3, y3));

  // A session places the tokens by the generation scheme itself, with and without the cache.
  for (bool use_cache : {true, false}) {
    CAPTURE(use_cache);
    Session session(model, {.context = 8, .use_cache = use_cache});
    CHECK(max_abs_diff(session.decode(x1), y1) <= 1e-4f);
    CHECK(max_abs_diff(session.decode(x2), y2) <= 1e-4f);
    CHECK(max_abs_diff(session.decode(x3), y3) <= 1e-4f);
  }
  Session no_bos(model);
  CHECK_THROWS_WITH_AS(no_bos.decode(std::vector<int32_t>{0, 3}), doctest::Contains("must end with [gMASK] (1) and then BOS (2)"), Error);
}

// With one layer, the cached keys and values depend only on each token and its 2D position, so
// cache surgery has an exact target: dropping a prompt prefix of P tokens and moving the rest by
// (-P positions, 0 block positions), and a generated token by (-P, 0) too, must give the cache
// that computing the remaining tokens at their new positions gives, and the same next output.
TEST_CASE_FIXTURE(GpuTest, "ChatGLM-6B: dropping a prompt prefix and repositioning by 2D deltas equals recomputing") {
  auto path = shared_data("chatglm/glm_model.data");
  if (!path) return;
  GlmCase t = load_glm_case(*path);
  ChatGlmModel& model = *t.model;
  // Prompt: prefix [4, 3] then document [0, 1, 2], all bidirectional; then one generated token
  // at the last prompt position with block position 1.
  const std::vector<int32_t> prompt{4, 3, 0, 1, 2}, generated{3};
  KvCache full(gpu(), model.cache_config(8));
  model.forward(full, prompt, std::vector<int32_t>{0, 1, 2, 3, 4}, {.block_positions = std::vector<int32_t>{0, 0, 0, 0, 0}, .prefix = 5});
  model.forward(full, generated, std::vector<int32_t>{4}, {.block_positions = std::vector<int32_t>{1}, .prefix = 5});
  full.select(std::vector<int64_t>{2, 3, 4, 5});
  full.reposition(0, 4, -2, 0);

  KvCache direct(gpu(), model.cache_config(8));
  model.forward(direct, std::vector<int32_t>{0, 1, 2}, std::vector<int32_t>{0, 1, 2}, {.block_positions = std::vector<int32_t>{0, 0, 0}, .prefix = 3});
  model.forward(direct, generated, std::vector<int32_t>{2}, {.block_positions = std::vector<int32_t>{1}, .prefix = 3});

  auto as_floats = [](const std::vector<uint8_t>& bytes) {
    std::vector<float> f(bytes.size() / 4);
    std::memcpy(f.data(), bytes.data(), bytes.size());
    return f;
  };
  CHECK(max_abs_diff(as_floats(full.read_k(0, 0, 4)), as_floats(direct.read_k(0, 0, 4))) <= 1e-5f);
  CHECK(max_abs_diff(as_floats(full.read_v(0, 0, 4)), as_floats(direct.read_v(0, 0, 4))) <= 0.0f);
  // The next generated token sees the same cache either way.
  const std::vector<int32_t> next_block{2};
  const ForwardExtras next{.block_positions = next_block, .prefix = 3};
  const auto after_surgery = model.forward(full, std::vector<int32_t>{4}, std::vector<int32_t>{2}, next);
  const auto recomputed = model.forward(direct, std::vector<int32_t>{4}, std::vector<int32_t>{2}, next);
  CHECK(max_abs_diff(after_surgery, recomputed) <= 1e-5f);
  // Without the block delta's stream the keys would be wrong: a 2D cache refuses 1D appends.
  CHECK_THROWS_WITH_AS(model.forward(full, std::vector<int32_t>{1}, std::vector<int32_t>{2}), doctest::Contains("2D RoPE needs one block position"), Error);
}

// glm_model.data rewritten as a Hugging Face directory (per-head q/k/v rows, num_layers 28 in
// config.json as the reference had) and as a chatglm6b GGUF ([q; k; v] rows, residual_alpha):
// both load through load_model and reproduce the reference through a session. The embedding is
// padded to 32 rows so that the identity output matrix fits the vocabulary.
TEST_CASE_FIXTURE(GpuTest, "ChatGLM-6B loads from a Hugging Face directory and from the chatglm6b GGUF layout") {
  auto path = shared_data("chatglm/glm_model.data");
  if (!path) return;
  const int64_t d = 32, f = 128, heads = 8;
  DataFile data(*path);
  std::vector<float> embed = data.floats(5 * d);
  embed.resize(size_t(d * d), 0.0f);
  struct Named {
    std::string hf, gguf;
    std::vector<int64_t> shape;
    std::vector<float> v;
  };
  std::vector<Named> t;
  t.push_back({"transformer.word_embeddings.weight", "token_embd.weight", {d, d}, embed});
  const std::string hb = "transformer.layers.0.", gb = "blk.0.";
  t.push_back({hb + "input_layernorm.weight", gb + "attn_norm.weight", {d}, data.floats(d)});
  t.push_back({hb + "input_layernorm.bias", gb + "attn_norm.bias", {d}, data.floats(d)});
  t.push_back({hb + "attention.query_key_value.weight", gb + "attn_qkv.weight", {3 * d, d}, data.floats(3 * d * d)});
  t.push_back({hb + "attention.query_key_value.bias", gb + "attn_qkv.bias", {3 * d}, data.floats(3 * d)});
  t.push_back({hb + "attention.dense.weight", gb + "attn_output.weight", {d, d}, data.floats(d * d)});
  t.push_back({hb + "attention.dense.bias", gb + "attn_output.bias", {d}, data.floats(d)});
  t.push_back({hb + "post_attention_layernorm.weight", gb + "ffn_norm.weight", {d}, data.floats(d)});
  t.push_back({hb + "post_attention_layernorm.bias", gb + "ffn_norm.bias", {d}, data.floats(d)});
  t.push_back({hb + "mlp.dense_h_to_4h.weight", gb + "ffn_up.weight", {f, d}, data.floats(f * d)});
  t.push_back({hb + "mlp.dense_h_to_4h.bias", gb + "ffn_up.bias", {f}, data.floats(f)});
  t.push_back({hb + "mlp.dense_4h_to_h.weight", gb + "ffn_down.weight", {d, f}, data.floats(d * f)});
  t.push_back({hb + "mlp.dense_4h_to_h.bias", gb + "ffn_down.bias", {d}, data.floats(d)});
  t.push_back({"transformer.final_layernorm.weight", "output_norm.weight", {d}, data.floats(d)});
  t.push_back({"transformer.final_layernorm.bias", "output_norm.bias", {d}, data.floats(d)});
  t.push_back({"lm_head.weight", "output.weight", {d, d}, identity(int(d))});
  const Steps steps = read_steps(data, d);

  const fs::path dir = temp_path("hf-chatglm");
  fs::create_directories(dir);
  std::vector<SafetensorEntry> entries;
  for (const auto& n : t) entries.push_back({n.hf, "F32", n.shape, std::string(reinterpret_cast<const char*>(n.v.data()), n.v.size() * 4)});
  write_safetensors(dir / "model.safetensors", entries);
  std::ofstream(dir / "config.json") << R"({"architectures": ["ChatGLMModel"], "position_encoding_2d": true, "hidden_size": 32,
    "num_attention_heads": 8, "num_layers": 28, "inner_hidden_size": 128, "vocab_size": 32, "max_sequence_length": 16,
    "layernorm_epsilon": 1e-5, "gmask_token_id": 1, "bos_token_id": 2})";

  GgufWriter w;
  w.set_string("general.architecture", "chatglm6b");
  w.set_u32("chatglm6b.context_length", 16);
  w.set_u32("chatglm6b.embedding_length", uint32_t(d));
  w.set_u32("chatglm6b.feed_forward_length", uint32_t(f));
  w.set_u32("chatglm6b.block_count", 1);
  w.set_u32("chatglm6b.attention.head_count", uint32_t(heads));
  w.set_f32("chatglm6b.residual_alpha", std::sqrt(56.0f));
  w.set_u32("chatglm6b.gmask_token_id", 1);
  w.set_u32("tokenizer.ggml.bos_token_id", 2);
  const auto rows = chatglm_qkv_rows(int(heads), int(d / heads));
  for (const auto& n : t) {
    std::vector<float> v = n.v;
    if (n.gguf.find("attn_qkv") != std::string::npos) {  // per-head [q k v] -> [q; k; v]
      const int64_t cols = n.shape.size() > 1 ? n.shape[1] : 1;
      for (size_t r = 0; r < rows.size(); ++r)
        std::copy_n(n.v.begin() + rows[r] * cols, cols, v.begin() + std::ptrdiff_t(r * size_t(cols)));
    }
    std::vector<uint8_t> bytes(v.size() * 4);
    std::memcpy(bytes.data(), v.data(), bytes.size());
    std::vector<uint64_t> dims(n.shape.rbegin(), n.shape.rend());  // GGUF: innermost first
    w.add_tensor(n.gguf, dims, uint32_t(GgmlType::F32), std::move(bytes));
  }
  const std::string gguf = temp_path("chatglm6b.gguf");
  w.write(gguf);

  for (const std::string& model_path : {dir.string(), gguf}) {
    CAPTURE(model_path);
    LoadedModel loaded = load_model(gpu(), model_path);
    CHECK(loaded.model->arch() == "chatglm");
    Session session(*loaded.model, {.context = 8});
    CHECK(max_abs_diff(session.decode(steps.x1), steps.y1) <= 1e-4f);
    CHECK(max_abs_diff(session.decode(steps.x2), steps.y2) <= 1e-4f);
    CHECK(max_abs_diff(session.decode(steps.x3), steps.y3) <= 1e-4f);
  }
  fs::remove_all(dir);
  fs::remove(gguf);
}

// ChatGLM2 is a Llama-family model: RMSNorm, grouped-query attention with q/k/v biases, rotary
// embedding on the first half of each head with interleaved pairs, SwiGLU.
TEST_CASE_FIXTURE(GpuTest, "ChatGLM2: partial interleaved RoPE, multi-query groups and q/k/v biases match the reference") {
  auto path = shared_data("chatglm/glm2_model.data");
  if (!path) return;
  LlamaConfig c;
  c.dim = 32, c.hidden = 48, c.n_layers = 1, c.n_heads = 8, c.n_kv_heads = 2, c.context = 16, c.norm_eps = 1e-5f;
  c.vocab = c.dim;  // identity output matrix: the "logits" are the final-normed hidden state
  c.rope.pairing = RopePairing::Interleaved;
  c.rope.head_dim = c.head_dim();
  c.rope.rotary_dim = c.head_dim() / 2;
  const int64_t d = c.dim, kv = int64_t(c.n_kv_heads) * c.head_dim(), f = c.hidden;
  DataFile data(*path);
  LlamaWeights w;
  w.token_embd = Weight::plain(upload(data.floats(5 * d), 5, d));
  LlamaLayer L;
  L.attn_norm = upload(data.floats(d), 1, d);
  const Weight qkv = Weight::plain(upload(data.floats((d + 2 * kv) * d), d + 2 * kv, d));
  const Tensor qkv_bias = upload(data.floats(d + 2 * kv), 1, d + 2 * kv);
  L.qkv.parts = {qkv};
  L.bqkv = qkv_bias;
  L.wo = Weight::plain(upload(data.floats(d * d), d, d));
  L.ffn_norm = upload(data.floats(d), 1, d);
  L.gate_up.parts = {Weight::plain(upload(data.floats(2 * f * d), 2 * f, d))};
  L.w_down = Weight::plain(upload(data.floats(d * f), d, f));
  w.layers.push_back(L);
  w.output_norm = upload(data.floats(d), 1, d);
  w.output = Weight::plain(upload(identity(c.dim), d, d));
  const Steps steps = read_steps(data, d);
  const auto &x1 = steps.x1, &x2 = steps.x2, &x3 = steps.x3;
  const auto &y1 = steps.y1, &y2 = steps.y2, &y3 = steps.y3;

  LlamaModel model(gpu(), c, std::move(w));
  KvCache cache(gpu(), model.cache_config(8));
  const auto got1 = model.forward(cache, x1, std::vector<int32_t>{0, 1, 2});
  const auto got2 = model.forward(cache, x2, std::vector<int32_t>{3});
  const auto got3 = model.forward(cache, x3, std::vector<int32_t>{4});
  CHECK(max_abs_diff(got1, y1) <= 1e-4f);
  CHECK(max_abs_diff(got2, y2) <= 1e-4f);
  CHECK(max_abs_diff(got3, y3) <= 1e-4f);
  MESSAGE("ChatGLM2 max abs error: y1 " << max_abs_diff(got1, y1) << ", y2 " << max_abs_diff(got2, y2) << ", y3 " << max_abs_diff(got3, y3));
}

TEST_SUITE_END();
