// Hugging Face directories: stories260K rewritten as a Hugging Face Llama (safetensors shards,
// q/k in rotate_half order, config.json) reproduces llama2.c's logits; tokenizer.json built
// from the GPT-2 vocabulary reproduces llama.cpp's tokenizer test; corrupt files are named.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "host/tokenizer/tokenizer_json.h"
#include "models/gguf.h"
#include "models/gguf_vocab.h"
#include "models/load.h"
#include "models/safetensors.h"
#include "tests/models/safetensors_writer.h"
#include "tests/models/reference.h"
#include "tests/test_util.h"

using namespace vkllm;
using namespace vkllm::test;
using nlohmann::json;
namespace fs = std::filesystem;

TEST_SUITE_BEGIN("end_to_end");

namespace {

std::string f32_bytes(const float* v, size_t n) { return std::string(reinterpret_cast<const char*>(v), n * 4); }

// llama2.c rotates adjacent pairs; Hugging Face rotates (i, i + head_dim/2): its q/k rows are
// the llama2.c rows reordered so pair i's two rows land half a head apart.
std::vector<float> to_rotate_half(const float* w, int heads, int head_dim, int cols) {
  std::vector<float> out(size_t(heads) * size_t(head_dim) * size_t(cols));
  for (int h = 0; h < heads; ++h)
    for (int i = 0; i < head_dim / 2; ++i)
      for (int half = 0; half < 2; ++half) {
        const size_t from = size_t(h * head_dim + 2 * i + half), to = size_t(h * head_dim + half * head_dim / 2 + i);
        std::copy_n(w + from * size_t(cols), cols, out.begin() + std::ptrdiff_t(to * size_t(cols)));
      }
  return out;
}

// stories260K as a Hugging Face directory: layers 0-2 in one shard, the rest and the
// embeddings in another, all F32, tied output. Returns the directory.
fs::path write_hf_stories(const std::string& bin) {
  std::ifstream in(bin, std::ios::binary);
  int32_t h[7];
  in.read(reinterpret_cast<char*>(h), sizeof h);
  const int dim = h[0], hidden = h[1], layers = h[2], heads = h[3], kv_heads = h[4], vocab = h[5], ctx = h[6];
  const int head_dim = dim / heads, kv = kv_heads * head_dim;
  std::vector<float> all((fs::file_size(bin) - sizeof h) / 4);
  in.read(reinterpret_cast<char*>(all.data()), std::streamsize(all.size() * 4));
  const float* p = all.data();
  auto take = [&](size_t n) {
    const float* at = p;
    p += n;
    return at;
  };
  const float* embed = take(size_t(vocab) * dim);
  const float* rms_att = take(size_t(layers) * dim);
  const float* wq = take(size_t(layers) * dim * dim);
  const float* wk = take(size_t(layers) * kv * dim);
  const float* wv = take(size_t(layers) * kv * dim);
  const float* wo = take(size_t(layers) * dim * dim);
  const float* rms_ffn = take(size_t(layers) * dim);
  const float* w1 = take(size_t(layers) * hidden * dim);
  const float* w2 = take(size_t(layers) * dim * hidden);
  const float* w3 = take(size_t(layers) * hidden * dim);
  const float* rms_final = take(size_t(dim));

  const fs::path dir = temp_path("hf-stories");
  fs::create_directories(dir);
  std::vector<SafetensorEntry> shard[2];
  json weight_map = json::object();
  auto add = [&](int s, const std::string& name, std::vector<int64_t> shape, const float* v) {
    size_t n = 1;
    for (int64_t d : shape) n *= size_t(d);
    shard[s].push_back({name, "F32", shape, f32_bytes(v, n)});
    weight_map[name] = "model-0000" + std::to_string(s + 1) + "-of-00002.safetensors";
  };
  add(1, "model.embed_tokens.weight", {vocab, dim}, embed);
  add(1, "model.norm.weight", {dim}, rms_final);
  for (int l = 0; l < layers; ++l) {
    const int s = l < 3 ? 0 : 1;
    const std::string b = "model.layers." + std::to_string(l) + ".";
    const auto q = to_rotate_half(wq + size_t(l) * dim * dim, heads, head_dim, dim);
    const auto k = to_rotate_half(wk + size_t(l) * kv * dim, kv_heads, head_dim, dim);
    add(s, b + "input_layernorm.weight", {dim}, rms_att + size_t(l) * dim);
    add(s, b + "self_attn.q_proj.weight", {dim, dim}, q.data());
    add(s, b + "self_attn.k_proj.weight", {kv, dim}, k.data());
    add(s, b + "self_attn.v_proj.weight", {kv, dim}, wv + size_t(l) * kv * dim);
    add(s, b + "self_attn.o_proj.weight", {dim, dim}, wo + size_t(l) * dim * dim);
    add(s, b + "post_attention_layernorm.weight", {dim}, rms_ffn + size_t(l) * dim);
    add(s, b + "mlp.gate_proj.weight", {hidden, dim}, w1 + size_t(l) * hidden * dim);
    add(s, b + "mlp.down_proj.weight", {dim, hidden}, w2 + size_t(l) * dim * hidden);
    add(s, b + "mlp.up_proj.weight", {hidden, dim}, w3 + size_t(l) * hidden * dim);
  }
  for (int s = 0; s < 2; ++s) write_safetensors(dir / ("model-0000" + std::to_string(s + 1) + "-of-00002.safetensors"), shard[s]);
  std::ofstream(dir / "model.safetensors.index.json") << json{{"weight_map", weight_map}}.dump();
  std::ofstream(dir / "config.json") << json{{"architectures", {"LlamaForCausalLM"}}, {"hidden_size", dim},
                                             {"intermediate_size", hidden}, {"num_hidden_layers", layers},
                                             {"num_attention_heads", heads}, {"num_key_value_heads", kv_heads},
                                             {"vocab_size", vocab}, {"max_position_embeddings", ctx},
                                             {"rms_norm_eps", 1e-5}, {"rope_theta", 10000.0}, {"tie_word_embeddings", true}}
                                            .dump();
  return dir;
}

}  // namespace

TEST_CASE_FIXTURE(GpuTest, "a Hugging Face Llama directory (sharded safetensors, rotate_half q/k) matches llama2.c") {
  auto bin = shared_data("models/stories260K.bin");
  auto sequences = reference_sequences("reference/stories260K-logits.jsonl", 512);
  if (!bin || sequences.empty()) return;
  const fs::path dir = write_hf_stories(*bin);
  LoadedModel loaded = load_model(gpu(), dir.string());
  REQUIRE(loaded.model->cache_config(1).rope);
  CHECK(loaded.model->cache_config(1).rope->pairing == RopePairing::HalfSplit);
  CHECK_FALSE(loaded.tokenizer);
  for (const auto& s : sequences) {
    CAPTURE(s.name);
    CHECK(max_error_prefill(*loaded.model, s) <= 1e-3f);  // the wrong pairing gives errors of order 1
    CHECK(max_error_decode(*loaded.model, s) <= 1e-3f);
  }

  // Attention windows per layer: Mistral's for every layer, Qwen2's from max_window_layers on
  // when use_sliding_window is set, "layer_types" where given.
  const json config = json::parse(std::ifstream(dir / "config.json"));
  auto windows_with = [&](const json& extra) {
    json c = config;
    c.update(extra);
    std::ofstream(dir / "config.json") << c.dump();
    return load_model(gpu(), dir.string()).model->cache_config(1).sliding_window;
  };
  CHECK(windows_with({{"sliding_window", nullptr}}).empty());
  CHECK(windows_with({{"sliding_window", 6}}) == std::vector<int>(5, 6));
  CHECK(windows_with({{"sliding_window", 6}, {"use_sliding_window", false}}).empty());
  CHECK(windows_with({{"sliding_window", 6}, {"use_sliding_window", true}, {"max_window_layers", 3}}) == std::vector<int>{0, 0, 0, 6, 6});
  const json types = {"sliding_attention", "full_attention", "sliding_attention", "full_attention", "sliding_attention"};
  CHECK(windows_with({{"sliding_window", 6}, {"layer_types", types}}) == std::vector<int>{6, 0, 6, 0, 6});
  CHECK_THROWS_WITH_AS(windows_with({{"sliding_window", 6}, {"layer_types", {"full_attention"}}}),
                       doctest::Contains("'layer_types' needs one entry per layer (5)"), Error);
  json unknown = types;
  unknown[3] = "chunked_attention";
  CHECK_THROWS_WITH_AS(windows_with({{"sliding_window", 6}, {"layer_types", unknown}}),
                       doctest::Contains("'layer_types' entry 3 is 'chunked_attention'"), Error);
  std::ofstream(dir / "config.json") << config.dump();

  // A shard cut short and a config of another architecture are refused by name.
  const fs::path shard = dir / "model-00002-of-00002.safetensors";
  fs::resize_file(shard, fs::file_size(shard) - 100);
  CHECK_THROWS_WITH_AS(load_model(gpu(), dir.string()), doctest::Contains("data lies past the end of the file"), Error);
  std::ofstream(dir / "config.json") << R"({"architectures": ["BertModel"]})";
  CHECK_THROWS_WITH_AS(load_model(gpu(), dir.string()), doctest::Contains("architecture 'BertModel' is not supported"), Error);
  fs::remove_all(dir);
}

// tiny-gpt2 rewritten as a Hugging Face GPT2LMHeadModel: Conv1D matrices stored [in, out],
// embeddings F16, the rest F32, "transformer." prefix, separate lm_head. It must compute what
// the GGUF file computes.
TEST_CASE_FIXTURE(GpuTest, "a Hugging Face GPT-2 directory (transposed Conv1D weights) matches the same model from GGUF") {
  auto gguf = shared_data("models/tiny-gpt2.gguf");
  if (!gguf) return;
  GgufFile file(*gguf);
  auto raw = [&](const std::string& name) {
    const GgufTensor& t = file.tensor(name);
    return std::string(reinterpret_cast<const char*>(t.data), t.bytes);
  };
  auto dtype = [&](const std::string& name) { return file.tensor(name).type == uint32_t(GgmlType::F16) ? "F16" : "F32"; };
  auto conv1d = [&](const std::string& name) {  // GGUF [out, in] row-major -> [in, out]
    const GgufTensor& t = file.tensor(name);
    const int64_t in = int64_t(t.dims[0]), out = int64_t(t.dims[1]);
    REQUIRE(t.type == uint32_t(GgmlType::F32));
    std::string bytes(t.bytes, '\0');
    for (int64_t o = 0; o < out; ++o)
      for (int64_t i = 0; i < in; ++i) std::memcpy(&bytes[size_t(i * out + o) * 4], t.data + size_t(o * in + i) * 4, 4);
    return SafetensorEntry{"", "F32", {in, out}, bytes};
  };
  const int dim = 64, layers = 2, vocab = 50257, ctx = 256, ffn = 256;
  std::vector<SafetensorEntry> entries;
  auto add = [&](const std::string& hf, const std::string& gg, std::vector<int64_t> shape) {
    entries.push_back({hf, dtype(gg), shape, raw(gg)});
  };
  add("transformer.wte.weight", "token_embd.weight", {vocab, dim});
  add("transformer.wpe.weight", "position_embd.weight", {ctx, dim});
  add("transformer.ln_f.weight", "output_norm.weight", {dim});
  add("transformer.ln_f.bias", "output_norm.bias", {dim});
  add("lm_head.weight", "output.weight", {vocab, dim});
  for (int l = 0; l < layers; ++l) {
    const std::string h = "transformer.h." + std::to_string(l) + ".", b = "blk." + std::to_string(l) + ".";
    add(h + "ln_1.weight", b + "attn_norm.weight", {dim});
    add(h + "ln_1.bias", b + "attn_norm.bias", {dim});
    add(h + "ln_2.weight", b + "ffn_norm.weight", {dim});
    add(h + "ln_2.bias", b + "ffn_norm.bias", {dim});
    add(h + "attn.c_attn.bias", b + "attn_qkv.bias", {3 * dim});
    add(h + "attn.c_proj.bias", b + "attn_output.bias", {dim});
    add(h + "mlp.c_fc.bias", b + "ffn_up.bias", {ffn});
    add(h + "mlp.c_proj.bias", b + "ffn_down.bias", {dim});
    for (auto [hf, gg] : {std::pair{"attn.c_attn.weight", "attn_qkv.weight"}, {"attn.c_proj.weight", "attn_output.weight"},
                          {"mlp.c_fc.weight", "ffn_up.weight"}, {"mlp.c_proj.weight", "ffn_down.weight"}}) {
      entries.push_back(conv1d(b + gg));
      entries.back().name = h + hf;
    }
  }
  const fs::path dir = temp_path("hf-gpt2");
  fs::create_directories(dir);
  write_safetensors(dir / "model.safetensors", entries);
  std::ofstream(dir / "config.json") << json{{"architectures", {"GPT2LMHeadModel"}}, {"n_embd", dim}, {"n_layer", layers},
                                             {"n_head", 4}, {"vocab_size", vocab}, {"n_positions", ctx},
                                             {"n_inner", nullptr}, {"layer_norm_epsilon", 1e-5}, {"tie_word_embeddings", false}}
                                            .dump();
  LoadedModel hf = load_model(gpu(), dir.string());
  LoadedModel reference = load_model(gpu(), *gguf);
  CHECK(hf.model->arch() == "gpt2");
  const std::vector<int32_t> tokens{464, 2068, 7586, 21831, 18045, 625, 262};
  KvCache a(gpu(), hf.model->cache_config(8)), b(gpu(), reference.model->cache_config(8));
  const auto got = hf.model->forward(a, tokens, iota_positions(tokens.size()));
  const auto want = reference.model->forward(b, tokens, iota_positions(tokens.size()));
  CHECK(max_abs_diff(got, want) <= 1e-5f);
  fs::remove_all(dir);
}

TEST_CASE("tokenizer.json with a byte-level BPE reproduces llama.cpp's GPT-2 tokenizer test") {
  auto gguf = shared_data("tokenizers/ggml-vocab-gpt-2.gguf");
  if (!gguf) return;
  GgufFile file(*gguf);
  const Vocab source = *vocab_from_gguf(file);
  json vocab = json::object();
  for (int32_t i = 0; i < source.size(); ++i)
    if (source.types[size_t(i)] == TokenType::Normal) vocab[source.tokens[size_t(i)]] = i;
  json merges = json::array(), added = json::array();
  for (const auto& [a, b] : source.merges) merges.push_back(a + " " + b);
  added.push_back({{"id", 50256}, {"content", "<|endoftext|>"}, {"special", true}});
  const fs::path dir = temp_path("hf-tokenizer");
  fs::create_directories(dir);
  std::ofstream(dir / "tokenizer.json") << json{{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}},
                                                {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
                                                {"added_tokens", added}}
                                               .dump();
  std::ofstream(dir / "tokenizer_config.json") << R"({"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "add_bos_token": false})";
  const Tokenizer tok(vocab_from_tokenizer_json(dir.string()));
  CHECK(tok.vocab().eos == 50256);
  CHECK(tok.encode("a<|endoftext|>", true, true).back() == 50256);

  std::ifstream inp(*gguf + ".inp"), out(*gguf + ".out");
  std::stringstream text;
  text << inp.rdbuf();
  const std::string all = text.str(), sep = "\n__ggml_vocab_test__\n";
  int checked = 0;
  for (size_t at = 0, next; (next = all.find(sep, at)) != std::string::npos; at = next + sep.size(), ++checked) {
    std::string line;
    REQUIRE(std::getline(out, line));
    std::vector<int32_t> expected;
    std::istringstream ids(line);
    for (int32_t id; ids >> id;) expected.push_back(id);
    const std::string input = all.substr(at, next - at);
    CAPTURE(input);
    CHECK(tok.encode(input, false) == expected);
  }
  CHECK(checked == 46);
  fs::remove_all(dir);
}

TEST_CASE("tokenizer.json with a SentencePiece-style BPE: space prefix, merges by rank, byte fallback") {
  const fs::path dir = temp_path("hf-spm-tokenizer");
  fs::create_directories(dir);
  json vocab = {{"<unk>", 0}, {"<s>", 1}, {"</s>", 2}, {"<0x63>", 3}, {"\u2581", 4}, {"a", 5}, {"b", 6},
                {"\u2581a", 7}, {"ab", 8}, {"\u2581ab", 9}};
  json added = json::array();
  for (const char* special : {"<unk>", "<s>", "</s>"}) added.push_back({{"id", vocab[special]}, {"content", special}, {"special", true}});
  std::ofstream(dir / "tokenizer.json")
      << json{{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", {"a b", "\u2581 a", "\u2581a b"}}, {"byte_fallback", true}, {"unk_token", "<unk>"}}},
              {"normalizer", {{"type", "Sequence"}, {"normalizers", {{{"type", "Prepend"}, {"prepend", "\u2581"}}, {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\u2581"}}}}}},
              {"pre_tokenizer", nullptr},
              {"added_tokens", added}}
             .dump();
  std::ofstream(dir / "tokenizer_config.json") << R"({"bos_token": "<s>", "eos_token": "</s>", "add_bos_token": true})";
  const Tokenizer tok(vocab_from_tokenizer_json(dir.string()));
  CHECK(tok.vocab().kind == TokenizerKind::Spm);
  // "a b" merges first (rank 0), so " ab" is ▁ + ab, then ▁a can no longer form: ▁ + ab -> no
  // merge for (▁, ab) exists, leaving [▁, ab]; "c" has no piece and falls back to its byte.
  CHECK(tok.encode("ab", true) == std::vector<int32_t>{1, 4, 8});
  CHECK(tok.encode("a", false) == std::vector<int32_t>{7});
  CHECK(tok.encode("ac", false) == std::vector<int32_t>{7, 3});
  CHECK(tok.decode(tok.encode("ab ac", false)) == " ab ac");
  fs::remove_all(dir);
}

TEST_CASE("a corrupt safetensors header is refused by name") {
  const fs::path path = temp_path("bad.safetensors");
  {
    std::ofstream out(path, std::ios::binary);
    const uint64_t n = 1000;
    out.write(reinterpret_cast<const char*>(&n), 8);
    out << "{}";
  }
  CHECK_THROWS_WITH_AS(SafetensorsFile{path.string()}, doctest::Contains("header (1000 bytes) runs past the end"), Error);
  write_safetensors(path, {{"w", "F32", {2, 3}, std::string(20, '\0')}});
  CHECK_THROWS_WITH_AS(SafetensorsFile{path.string()}, doctest::Contains("20 bytes of data for 6 F32 elements"), Error);
  fs::remove(path);
}

TEST_CASE("corrupt safetensors files give errors naming the tensor and the problem") {
  // The length, a header, then 32 bytes of data: "a" F32 [2, 2] at [0, 16), "b" at `b_offsets`.
  auto bytes_of = [](const std::string& b_shape, const std::string& b_offsets) {
    const std::string header = R"({"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":)" +
                               b_shape + R"(,"data_offsets":)" + b_offsets + "}}";
    std::string bytes(8, '\0');
    const uint64_t n = header.size();
    std::memcpy(bytes.data(), &n, 8);
    return bytes + header + std::string(32, '\1');
  };
  auto parse = [](const std::string& bytes) {
    const TempFile f("corrupt.safetensors");
    std::ofstream(f.path, std::ios::binary) << bytes;
    try {
      SafetensorsFile parsed(f.path);
      return std::string("parsed");
    } catch (const Error& e) {
      return std::string(e.what());
    }
  };
  const std::string good = bytes_of("[4]", "[16,32]");
  CHECK(parse(good) == "parsed");
  CHECK(parse(bytes_of("[4]", "[8,24]")).find("tensors 'a' and 'b' overlap") != std::string::npos);
  CHECK(parse(bytes_of("[4294967296,4294967296]", "[16,32]")).find("tensor 'b': dimensions whose product overflows 64 bits") !=
        std::string::npos);
  CHECK(parse(bytes_of("[-4]", "[16,32]")).find("tensor 'b': negative dimension") != std::string::npos);
  CHECK(parse(bytes_of("[5]", "[16,32]")).find("tensor 'b': 16 bytes of data for 5 F32 elements") != std::string::npos);
  CHECK(parse(bytes_of("[4]", "[16,48]")).find("data lies past the end of the file") != std::string::npos);
  for (size_t cut = 0; cut < good.size(); ++cut) {  // cut short anywhere: length, header or data
    CAPTURE(cut);
    CHECK(parse(good.substr(0, cut)) != "parsed");
  }
}

TEST_SUITE_END();
