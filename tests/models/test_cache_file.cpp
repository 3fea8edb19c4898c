// Cache files: a saved session loads back bit for bit in every architecture's cache layout, and
// any damage to the file (or a file from another model, dtype or layout) is refused with a
// message naming the problem while the receiving cache stays as it was.
#include <cstring>
#include <filesystem>
#include <fstream>

#include "host/engine/session.h"
#include "runtime/kv_cache_file.h"
#include "tests/models/synthetic.h"
#include "tests/test_util.h"

using namespace vkllm;
using namespace vkllm::test;

TEST_SUITE_BEGIN("end_to_end");

namespace {

// Everything a session holds: tokens, positions and every stored byte of every layer.
struct SessionState {
  std::vector<int32_t> tokens, encoder_tokens, positions, block_positions, cross_positions;
  std::vector<std::vector<uint8_t>> rows;
  bool operator==(const SessionState&) const = default;
};

SessionState state_of(Session& s) {
  SessionState st{s.tokens(), s.encoder_tokens()};
  const KvCache& c = s.cache();
  st.positions.assign(c.positions().begin(), c.positions().end());
  st.block_positions.assign(c.block_positions().begin(), c.block_positions().end());
  for (const KvCache* part : {&c, c.has_cross() ? &c.cross() : nullptr}) {
    if (!part) continue;
    if (part != &c) st.cross_positions.assign(part->positions().begin(), part->positions().end());
    for (int l = 0; l < part->config().n_layers; ++l) {
      st.rows.push_back(part->read_k(l, 0, part->size()));
      st.rows.push_back(part->read_v(l, 0, part->size()));
    }
  }
  return st;
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_bytes(const std::string& path, std::span<const uint8_t> bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

// Fills a session as a user would: the encoder's input where there is an encoder, then a
// prompt with the ending the model requires.
void fill(Session& s, std::vector<int32_t> prompt) {
  for (int32_t t : s.model().prompt_suffix()) prompt.push_back(t);
  if (s.model().encoder_decoder()) {
    s.encode(std::vector<int32_t>{7, 8, 9, 10, 11});
    prompt.insert(prompt.begin(), s.model().decoder_start_token());
  }
  s.decode(prompt);
}

}  // namespace

TEST_CASE_FIXTURE(GpuTest, "a saved session loads back bit for bit and continues exactly as the original") {
  // Every cache layout: plain RoPE, 2D RoPE with block positions, two RoPE bases with windows,
  // and a cross-attention part.
  for (const std::string arch : {"llama", "chatglm6b", "gemma3", "t5"}) {
    CAPTURE(arch);
    LoadedModel loaded = load_synthetic(small_model(arch, "f32"));
    Model& model = *loaded.model;
    const SessionOptions options{.context = 40, .encoder_context = model.encoder_decoder() ? 16 : 0};
    for (const KvTypes kv : {KvTypes(DType::F32), KvTypes(DType::F16), KvTypes(DType::Q8_0), KvTypes(DType::Q4_0, DType::F16)}) {
      CAPTURE(kv.describe());
      TempFile file("cache-roundtrip.vkkv");
      SessionOptions o = options;
      o.kv_types = kv;
      Session original(model, o);
      fill(original, {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5});
      original.save(file.path);

      Session restored(model, o);
      fill(restored, {42, 43});  // a different state, replaced whole
      restored.load(file.path);
      CHECK(state_of(restored) == state_of(original));
      const std::vector<int32_t> next{17, 18};
      const std::vector<float> a = original.decode(next), b = restored.decode(next);
      REQUIRE(a.size() == b.size());
      CHECK(std::memcmp(a.data(), b.data(), a.size() * 4) == 0);
    }
  }
}

TEST_CASE_FIXTURE(GpuTest, "damaged, foreign and mismatched cache files are refused and change nothing") {
  LoadedModel loaded = load_synthetic(small_model("llama", "f32"));
  Model& model = *loaded.model;
  TempFile saved("cache-good.vkkv"), bad("cache-bad.vkkv");
  {
    Session s(model, {.context = 32});
    s.decode(std::vector<int32_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
    s.save(saved.path);
  }
  const std::vector<uint8_t> good = read_bytes(saved.path);
  Session target(model, {.context = 32});
  target.decode(std::vector<int32_t>{20, 21, 22});
  const SessionState before = state_of(target);

  auto refuses = [&](const std::string& path, const std::string& why) {
    CAPTURE(why);
    CHECK_THROWS_WITH_AS(target.load(path), doctest::Contains(why.c_str()), Error);
    CHECK(state_of(target) == before);
  };
  auto damaged = [&](std::vector<uint8_t> bytes, const std::string& why) {
    write_bytes(bad.path, bytes);
    refuses(bad.path, why);
  };

  SUBCASE("truncated anywhere") {
    for (size_t length : {size_t(0), size_t(5), size_t(8), size_t(40), size_t(79), size_t(80), size_t(120), good.size() / 2, good.size() - 8,
                          good.size() - 1}) {
      CAPTURE(length);
      damaged({good.begin(), good.begin() + std::ptrdiff_t(length)}, length == 0 ? "not a vkllm cache file" : "truncated");
    }
    std::vector<uint8_t> longer = good;
    longer.push_back(0);
    damaged(longer, "overlong cache file");
  }
  SUBCASE("a byte flipped anywhere past the magic") {
    // Header fields, positions, tokens, K/V rows and the checksum itself.
    for (size_t at = 8; at < good.size(); at += at < 200 ? 7 : 997) {
      CAPTURE(at);
      std::vector<uint8_t> flipped = good;
      flipped[at] ^= 0x10;
      write_bytes(bad.path, flipped);
      CHECK_THROWS_AS(target.load(bad.path), Error);
      CHECK(state_of(target) == before);
    }
    std::vector<uint8_t> flipped = good;
    flipped[good.size() - 100] ^= 1;  // within the last layer's V rows
    damaged(flipped, "checksum does not match");
  }
  SUBCASE("not a cache file, or another version") {
    std::vector<uint8_t> other = good;
    other[0] = 'G';
    damaged(other, "not a vkllm cache file");
    other = good;
    other[8] = 2;
    damaged(other, "cache file version 2; this vkllm reads version 1");
    refuses("/nonexistent/cache.vkkv", "cannot open cache file /nonexistent/cache.vkkv");
  }
  SUBCASE("another model's cache, though shaped alike") {
    SyntheticModel twin = small_model("llama", "f32");
    twin.seed = 2;
    LoadedModel other = load_synthetic(twin);
    CHECK(other.model->fingerprint() != model.fingerprint());
    Session s(*other.model, {.context = 32});
    s.decode(std::vector<int32_t>{1, 2, 3});
    s.save(bad.path);
    refuses(bad.path, "computed by a different model");
  }
  SUBCASE("another dtype, or more entries than the cache holds") {
    Session f16(model, {.context = 32, .kv_types = DType::F16});
    if (f16.cache().config().types.k == DType::F16) {
      f16.decode(std::vector<int32_t>{1, 2});
      f16.save(bad.path);
      refuses(bad.path, "the file's cache is f16; this cache is f32");
    }
    Session small(model, {.context = 8});
    small.decode(std::vector<int32_t>{1, 2});
    const SessionState small_before = state_of(small);
    CHECK_THROWS_WITH_AS(small.load(saved.path), doctest::Contains("holds 10 entries; this cache has room for 8"), Error);
    CHECK(state_of(small) == small_before);
  }
  SUBCASE("a cache that rotates or windows its keys otherwise") {
    for (int variant = 0; variant < 2; ++variant) {
      KvCacheConfig config = model.cache_config(32);
      if (variant == 0) config.rope->theta *= 2;
      else config.sliding_window.assign(size_t(config.n_layers), 4);
      KvCache other(gpu(), config);
      CHECK_THROWS_WITH_AS(load_cache_file(saved.path, other, model.fingerprint()), doctest::Contains("rotates keys or windows layers differently"),
                           Error);
      CHECK(other.size() == 0);
    }
  }
  // The intact file still loads into the same session afterwards.
  target.load(saved.path);
  CHECK(target.tokens().size() == 10);
}

TEST_CASE("vkllm run --prompt-cache reuses the saved prompt and generates the same tokens") {
  TempFile model_file("prompt-cache-model.gguf"), cache("prompt-cache.vkkv");
  make_model(small_model("llama", "f32"), model_file.path);
  const std::string run = "run -m " + model_file.path + " -n 6 --temp 0 --print-ids --tokens ";
  const auto plain = run_cli(run + "1,5,9,200,31,7,8,9");
  REQUIRE(plain.status == 0);
  const auto first = run_cli(run + "1,5,9,200,31,7,8,9 --prompt-cache " + cache.path);
  REQUIRE(first.status == 0);
  CHECK(first.err.find("(0 from " + cache.path + ")") != std::string::npos);
  CHECK(first.out == plain.out);
  REQUIRE(std::filesystem::exists(cache.path));
  const auto again = run_cli(run + "1,5,9,200,31,7,8,9 --prompt-cache " + cache.path);
  CHECK(again.err.find("(7 from " + cache.path + ")") != std::string::npos);  // all but the last: its logits are not kept
  CHECK(again.out == plain.out);
  const auto longer = run_cli(run + "1,5,9,200,31,7,8,9,10,11 --prompt-cache " + cache.path);
  CHECK(longer.err.find("(8 from " + cache.path + ")") != std::string::npos);
  CHECK(longer.out == run_cli(run + "1,5,9,200,31,7,8,9,10,11").out);

  TempFile other_file("prompt-cache-other.gguf");
  SyntheticModel other = small_model("llama", "f32");
  other.seed = 9;
  make_model(other, other_file.path);
  const auto foreign = run_cli("run -m " + other_file.path + " -n 2 --tokens 1,5 --prompt-cache " + cache.path);
  CHECK(foreign.status == 1);
  CHECK(foreign.err.find("computed by a different model") != std::string::npos);
}
