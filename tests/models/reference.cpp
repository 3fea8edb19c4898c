#include "tests/models/reference.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "host/engine/sampler.h"
#include "host/engine/session.h"
#include "host/half.h"
#include "host/reference/reference.h"
#include "runtime/kv_cache.h"
#include "tests/test_util.h"

namespace vkllm::test {

std::vector<ReferenceSequence> reference_sequences(const std::string& jsonl, int64_t vocab) {
  std::vector<ReferenceSequence> out;
  auto index = shared_data(jsonl);
  if (!index) return out;
  std::ifstream in(*index);
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    ReferenceSequence s{j["name"], j["tokens"].get<std::vector<int32_t>>(), {},
                        j.value("encoder_tokens", std::vector<int32_t>{})};
    s.logits = read_npy_f32(std::filesystem::path(*index).parent_path() / j["logits"].get<std::string>());
    REQUIRE(s.logits.shape == std::vector<int64_t>{int64_t(s.tokens.size()), vocab});
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<int32_t> iota_positions(size_t n) {
  std::vector<int32_t> p(n);
  for (size_t i = 0; i < n; ++i) p[i] = int32_t(i);
  return p;
}


namespace {
std::unique_ptr<KvCache> fresh_cache(Model& model, const ReferenceSequence& s) {
  auto cache = std::make_unique<KvCache>(model.device(), model.cache_config(int64_t(s.tokens.size())));
  if (!s.encoder_tokens.empty()) model.encode(*cache, s.encoder_tokens);
  return cache;
}
}  // namespace

float max_error_decode(Model& model, const ReferenceSequence& s) {
  const size_t vocab = size_t(model.vocab());
  auto owned = fresh_cache(model, s);
  KvCache& cache = *owned;
  float worst = 0;
  for (size_t i = 0; i < s.tokens.size(); ++i)
    worst = std::max(worst, max_abs_diff(model.forward(cache, {&s.tokens[i], 1}, std::vector<int32_t>{int32_t(i)}),
                                         std::span(s.logits.data).subspan(i * vocab, vocab)));
  return worst;
}

float max_error_prefill(Model& model, const ReferenceSequence& s) {
  auto cache = fresh_cache(model, s);
  return max_abs_diff(model.forward(*cache, s.tokens, iota_positions(s.tokens.size())), s.logits.data);
}

namespace {
ref::Mat gguf_mat(const GgufFile& f, const std::string& name) {
  const GgufTensor& t = f.tensor(name);
  const int64_t cols = int64_t(t.dims[0]), rows = int64_t(t.elements()) / cols;
  ref::Mat m(rows, cols);
  REQUIRE((t.type == uint32_t(GgmlType::F32) || t.type == uint32_t(GgmlType::F16)));
  for (size_t i = 0; i < m.v.size(); ++i) {
    if (t.type == uint32_t(GgmlType::F32)) {
      std::memcpy(&m.v[i], t.data + 4 * i, 4);
    } else {
      uint16_t h;
      std::memcpy(&h, t.data + 2 * i, 2);
      m.v[i] = f16_to_f32(h);
    }
  }
  return m;
}
}  // namespace

std::vector<float> host_llama_logits(const GgufFile& f, const LlamaConfig& c, const std::vector<int32_t>& tokens) {
  const std::vector<int32_t> pos = iota_positions(tokens.size());
  auto linear = [&](const std::string& w, const std::string& bias, const ref::Mat& x) {
    ref::Mat y = ref::matmul(gguf_mat(f, w), x);
    return f.find(bias) ? ref::add(y, gguf_mat(f, bias)) : y;
  };
  ref::Mat x = ref::get_rows(gguf_mat(f, "token_embd.weight"), tokens);
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    ref::Mat h = ref::rmsnorm(x, gguf_mat(f, b + "attn_norm.weight").v, c.norm_eps);
    ref::Mat q = ref::rope(linear(b + "attn_q.weight", b + "attn_q.bias", h), c.n_heads, c.rope, {pos});
    ref::Mat k = ref::rope(linear(b + "attn_k.weight", b + "attn_k.bias", h), c.n_kv_heads, c.rope, {pos});
    ref::Mat v = linear(b + "attn_v.weight", b + "attn_v.bias", h);
    ref::AttentionSpec spec{c.n_heads, c.n_kv_heads, c.head_dim()};
    spec.scale = 1.0f / std::sqrt(float(c.head_dim()));
    x = ref::add(x, ref::matmul(gguf_mat(f, b + "attn_output.weight"), ref::attention(q, k, v, pos, pos, spec)));
    h = ref::rmsnorm(x, gguf_mat(f, b + "ffn_norm.weight").v, c.norm_eps);
    const ref::Mat gate = ref::silu(ref::matmul(gguf_mat(f, b + "ffn_gate.weight"), h));
    x = ref::add(x, ref::matmul(gguf_mat(f, b + "ffn_down.weight"), ref::mul(gate, ref::matmul(gguf_mat(f, b + "ffn_up.weight"), h))));
  }
  ref::Mat h = ref::rmsnorm(x, gguf_mat(f, "output_norm.weight").v, c.norm_eps);
  return ref::matmul(gguf_mat(f, f.find("output.weight") ? "output.weight" : "token_embd.weight"), h).v;
}

std::vector<float> host_t5_logits(const GgufFile& f, const T5Config& c, const std::vector<int32_t>& encoder_tokens,
                                  const std::vector<int32_t>& tokens) {
  const std::vector<int32_t> enc_pos = iota_positions(encoder_tokens.size()), dec_pos = iota_positions(tokens.size());
  auto w = [&](const std::string& name) { return gguf_mat(f, name); };
  auto norm = [&](const std::string& name, const ref::Mat& x) { return ref::rmsnorm(x, w(name).v, c.norm_eps); };
  ref::AttentionSpec spec{c.n_heads, c.n_heads, c.head_dim};
  spec.scale = 1.0f;  // T5 does not scale its scores
  auto ffn = [&](const std::string& b, const ref::Mat& x) {
    const ref::Mat h = norm(b + "ffn_norm.weight", x), up = ref::matmul(w(b + "ffn_up.weight"), h);
    const ref::Mat act = c.gated ? ref::mul(ref::gelu_tanh(ref::matmul(w(b + "ffn_gate.weight"), h)), up) : ref::relu(up);
    return ref::add(x, ref::matmul(w(b + "ffn_down.weight"), act));
  };
  const auto enc_buckets = ops::relative_position_buckets(c.num_buckets, c.max_distance, true);
  const auto dec_buckets = ops::relative_position_buckets(c.num_buckets, c.max_distance, false);
  const ref::Mat enc_bias = ref::position_bias(w("enc.blk.0.attn_rel_b.weight"), enc_buckets, true, enc_pos, enc_pos);
  const ref::Mat dec_bias = ref::position_bias(w("dec.blk.0.attn_rel_b.weight"), dec_buckets, false, dec_pos, dec_pos);
  ref::Mat x = ref::get_rows(w("token_embd.weight"), encoder_tokens);
  for (int l = 0; l < c.n_encoder_layers; ++l) {
    const std::string b = "enc.blk." + std::to_string(l) + ".";
    const ref::Mat h = norm(b + "attn_norm.weight", x);
    ref::AttentionSpec s = spec;
    s.mask = 0;
    s.explicit_mask = &enc_bias;
    const ref::Mat att = ref::attention(ref::matmul(w(b + "attn_q.weight"), h), ref::matmul(w(b + "attn_k.weight"), h),
                                        ref::matmul(w(b + "attn_v.weight"), h), enc_pos, enc_pos, s);
    x = ffn(b, ref::add(x, ref::matmul(w(b + "attn_o.weight"), att)));
  }
  const ref::Mat encoded = norm("enc.output_norm.weight", x);
  x = ref::get_rows(w("token_embd.weight"), tokens);
  for (int l = 0; l < c.n_decoder_layers; ++l) {
    const std::string b = "dec.blk." + std::to_string(l) + ".";
    ref::Mat h = norm(b + "attn_norm.weight", x);
    ref::AttentionSpec s = spec;
    s.explicit_mask = &dec_bias;  // causal, plus the bias
    ref::Mat att = ref::attention(ref::matmul(w(b + "attn_q.weight"), h), ref::matmul(w(b + "attn_k.weight"), h),
                                  ref::matmul(w(b + "attn_v.weight"), h), dec_pos, dec_pos, s);
    x = ref::add(x, ref::matmul(w(b + "attn_o.weight"), att));
    h = norm(b + "cross_attn_norm.weight", x);
    s = spec;
    s.mask = 0;
    att = ref::attention(ref::matmul(w(b + "cross_attn_q.weight"), h), ref::matmul(w(b + "cross_attn_k.weight"), encoded),
                         ref::matmul(w(b + "cross_attn_v.weight"), encoded), enc_pos, dec_pos, s);
    x = ffn(b, ref::add(x, ref::matmul(w(b + "cross_attn_o.weight"), att)));
  }
  ref::Mat h = norm("dec.output_norm.weight", x);
  if (c.tied_output) h = ref::scale(h, 1.0f / std::sqrt(float(c.dim)));
  return ref::matmul(w(c.tied_output ? "token_embd.weight" : "output.weight"), h).v;
}

std::vector<float> host_bart_logits(const GgufFile& f, const BartConfig& c, const std::vector<int32_t>& encoder_tokens,
                                    const std::vector<int32_t>& tokens) {
  const std::vector<int32_t> enc_pos = iota_positions(encoder_tokens.size()), dec_pos = iota_positions(tokens.size());
  auto w = [&](const std::string& name) { return gguf_mat(f, name); };
  auto linear = [&](const std::string& name, const ref::Mat& x) { return ref::add(ref::matmul(w(name + ".weight"), x), w(name + ".bias")); };
  auto norm = [&](const std::string& name, const ref::Mat& x) {
    return ref::layernorm(x, w(name + ".weight").v, w(name + ".bias").v, c.norm_eps);
  };
  auto embed = [&](const std::string& stack, const std::vector<int32_t>& ids, const std::vector<int32_t>& pos) {
    std::vector<int32_t> rows(pos);
    for (int32_t& r : rows) r += 2;  // fairseq's offset
    ref::Mat x = ref::get_rows(w("token_embd.weight"), ids);
    if (c.scale_embedding) x = ref::scale(x, std::sqrt(float(c.dim)));
    return norm(stack + ".embd_norm", ref::add(x, ref::get_rows(w(stack + ".position_embd.weight"), rows)));
  };
  auto ffn = [&](const std::string& b, const ref::Mat& x) {
    const ref::Mat up = linear(b + "ffn_up", x);
    const ref::Mat act = c.activation == BartActivation::Relu ? ref::relu(up) : c.activation == BartActivation::GeluTanh ? ref::gelu_tanh(up) : ref::gelu_erf(up);
    return norm(b + "ffn_norm", ref::add(x, linear(b + "ffn_down", act)));
  };
  ref::AttentionSpec spec{c.n_heads, c.n_heads, c.head_dim()};
  spec.scale = 1.0f / std::sqrt(float(c.head_dim()));
  ref::AttentionSpec bidirectional = spec;
  bidirectional.mask = 0;
  ref::Mat x = embed("enc", encoder_tokens, enc_pos);
  for (int l = 0; l < c.n_encoder_layers; ++l) {
    const std::string b = "enc.blk." + std::to_string(l) + ".";
    const ref::Mat att = ref::attention(linear(b + "attn_q", x), linear(b + "attn_k", x), linear(b + "attn_v", x), enc_pos, enc_pos, bidirectional);
    x = ffn(b, norm(b + "attn_norm", ref::add(x, linear(b + "attn_o", att))));
  }
  const ref::Mat encoded = x;
  x = embed("dec", tokens, dec_pos);
  for (int l = 0; l < c.n_decoder_layers; ++l) {
    const std::string b = "dec.blk." + std::to_string(l) + ".";
    ref::Mat att = ref::attention(linear(b + "attn_q", x), linear(b + "attn_k", x), linear(b + "attn_v", x), dec_pos, dec_pos, spec);
    x = norm(b + "attn_norm", ref::add(x, linear(b + "attn_o", att)));
    att = ref::attention(linear(b + "cross_attn_q", x), linear(b + "cross_attn_k", encoded), linear(b + "cross_attn_v", encoded), enc_pos,
                         dec_pos, bidirectional);
    x = ffn(b, norm(b + "cross_attn_norm", ref::add(x, linear(b + "cross_attn_o", att))));
  }
  ref::Mat logits = ref::matmul(w(f.find("output.weight") ? "output.weight" : "token_embd.weight"), x);
  return (f.find("output.bias") ? ref::add(logits, w("output.bias")) : logits).v;
}

namespace {

// The parts of a Gemma block both T5Gemma references use, over one file's weights.
struct GemmaParts {
  const GgufFile& f;
  ref::Mat w(const std::string& name) const { return gguf_mat(f, name); }
  ref::Mat linear(const std::string& name, const ref::Mat& x) const { return ref::matmul(w(name), x); }
  ref::Mat norm(const GemmaConfig& c, const std::string& name, const ref::Mat& x) const {
    return ref::rmsnorm(x, w(name).v, c.norm_eps);
  }
  static ref::AttentionSpec spec_of(const GemmaConfig& c) {
    ref::AttentionSpec s{c.n_heads, c.n_kv_heads, c.head_dim};
    s.scale = c.query_scale;
    s.softcap = c.attn_softcap;
    return s;
  }
  // x + post_norm(ffn(norm(x))), block b's GeGLU feed-forward.
  ref::Mat ffn(const GemmaConfig& c, const std::string& b, const ref::Mat& x) const {
    const ref::Mat h = norm(c, b + "ffn_norm.weight", x);
    const ref::Mat act = ref::mul(ref::gelu_tanh(linear(b + "ffn_gate.weight", h)), linear(b + "ffn_up.weight", h));
    return ref::add(x, norm(c, b + "post_ffw_norm.weight", linear(b + "ffn_down.weight", act)));
  }
  // The logits from the final hidden state: the head, then the final soft-cap.
  std::vector<float> logits(const GemmaConfig& c, const ref::Mat& head, const ref::Mat& x) const {
    std::vector<float> out = ref::matmul(head, norm(c, "dec.output_norm.weight", x)).v;
    if (c.final_softcap > 0)
      for (float& v : out) v = c.final_softcap * std::tanh(v / c.final_softcap);
    return out;
  }
};

}  // namespace

std::vector<float> host_t5gemma_logits(const GgufFile& f, const GemmaConfig& enc, const GemmaConfig& dec,
                                       const std::vector<int32_t>& encoder_tokens, const std::vector<int32_t>& tokens) {
  const std::vector<int32_t> enc_pos = iota_positions(encoder_tokens.size()), dec_pos = iota_positions(tokens.size());
  const GemmaParts g{f};
  // x + post_norm(attention over x's own q/k/v at `pos`).
  auto self_attention = [&](const GemmaConfig& c, const std::string& b, const ref::Mat& x, const std::vector<int32_t>& pos, int mask, int window) {
    const ref::Mat h = g.norm(c, b + "attn_norm.weight", x);
    ref::AttentionSpec s = GemmaParts::spec_of(c);
    s.mask = mask;
    s.window = window;
    const ref::Mat q = ref::rope(g.linear(b + "attn_q.weight", h), c.n_heads, c.rope, {pos});
    const ref::Mat k = ref::rope(g.linear(b + "attn_k.weight", h), c.n_kv_heads, c.rope, {pos});
    const ref::Mat att = ref::attention(q, k, g.linear(b + "attn_v.weight", h), pos, pos, s);
    return ref::add(x, g.norm(c, b + "post_attention_norm.weight", g.linear(b + "attn_output.weight", att)));
  };
  ref::Mat x = ref::scale(ref::get_rows(g.w("enc.token_embd.weight"), encoder_tokens), std::sqrt(float(enc.dim)));
  for (int l = 0; l < enc.n_layers; ++l) {
    const std::string b = "enc.blk." + std::to_string(l) + ".";
    const int window = enc.sliding_window[size_t(l)];
    x = g.ffn(enc, b, self_attention(enc, b, x, enc_pos, window > 0 ? 4 : 0, window));
  }
  const ref::Mat encoded = g.norm(enc, "enc.output_norm.weight", x);
  x = ref::scale(ref::get_rows(g.w("dec.token_embd.weight"), tokens), std::sqrt(float(dec.dim)));
  for (int l = 0; l < dec.n_layers; ++l) {
    const std::string b = "dec.blk." + std::to_string(l) + ".";
    const int window = dec.sliding_window[size_t(l)];
    x = self_attention(dec, b, x, dec_pos, window > 0 ? 3 : 1, window);
    ref::AttentionSpec s = GemmaParts::spec_of(dec);
    s.mask = 0;
    const ref::Mat att = ref::attention(g.linear(b + "cross_attn_q.weight", g.norm(dec, b + "cross_attn_norm.weight", x)),
                                        g.linear(b + "cross_attn_k.weight", encoded), g.linear(b + "cross_attn_v.weight", encoded), enc_pos,
                                        dec_pos, s);
    x = g.ffn(dec, b, ref::add(x, g.norm(dec, b + "cross_attn_post_norm.weight", g.linear(b + "cross_attn_output.weight", att))));
  }
  return g.logits(dec, g.w(f.find("output.weight") ? "output.weight" : "dec.token_embd.weight"), x);
}

std::vector<float> host_t5gemma2_logits(const GgufFile& f, const GemmaConfig& enc, const GemmaConfig& dec,
                                        const std::vector<int32_t>& encoder_tokens, const std::vector<int32_t>& tokens) {
  const std::vector<int32_t> enc_pos = iota_positions(encoder_tokens.size()), dec_pos = iota_positions(tokens.size());
  const int64_t n_enc = int64_t(encoder_tokens.size()), n_dec = int64_t(tokens.size());
  const GemmaParts g{f};
  struct Qkv {
    ref::Mat q, k, v;
  };
  // q and k normed per head, then rotated with the layer's RoPE.
  auto project = [&](const GemmaConfig& c, const std::string& b, int l, const ref::Mat& h, const std::vector<int32_t>& pos) {
    const ref::Mat q = g.norm(c, b + "attn_q_norm.weight", g.linear(b + "attn_q.weight", h));
    const ref::Mat k = g.norm(c, b + "attn_k_norm.weight", g.linear(b + "attn_k.weight", h));
    return Qkv{ref::rope(q, c.n_heads, c.layer_rope(l), {pos}), ref::rope(k, c.n_kv_heads, c.layer_rope(l), {pos}),
               g.linear(b + "attn_v.weight", h)};
  };
  auto residual = [&](const GemmaConfig& c, const std::string& b, const ref::Mat& x, const ref::Mat& att) {
    return ref::add(x, g.norm(c, b + "post_attention_norm.weight", g.linear(b + "attn_output.weight", att)));
  };
  const ref::Mat embd = g.w("enc.token_embd.weight");
  ref::Mat x = ref::scale(ref::get_rows(embd, encoder_tokens), std::sqrt(float(enc.dim)));
  for (int l = 0; l < enc.n_layers; ++l) {
    const std::string b = "enc.blk." + std::to_string(l) + ".";
    const int window = enc.sliding_window[size_t(l)];
    const Qkv p = project(enc, b, l, g.norm(enc, b + "attn_norm.weight", x), enc_pos);
    ref::AttentionSpec s = GemmaParts::spec_of(enc);
    s.mask = window > 0 ? 4 : 0;
    s.window = (window + 1) / 2;  // keys up to the query, its own included
    s.window_after = window / 2 + 1;
    x = g.ffn(enc, b, residual(enc, b, x, ref::attention(p.q, p.k, p.v, enc_pos, enc_pos, s)));
  }
  const ref::Mat encoded = g.norm(enc, "enc.output_norm.weight", x);
  x = ref::scale(ref::get_rows(embd, tokens), std::sqrt(float(dec.dim)));
  for (int l = 0; l < dec.n_layers; ++l) {
    const std::string b = "dec.blk." + std::to_string(l) + ".";
    const int window = dec.sliding_window[size_t(l)];
    const Qkv self = project(dec, b, l, g.norm(dec, b + "attn_norm.weight", x), dec_pos);
    // The encoder's keys: this layer's k projection and k-norm, unrotated.
    const ref::Mat cross_k = g.norm(dec, b + "attn_k_norm.weight", g.linear(b + "attn_k.weight", encoded));
    const ref::Mat cross_v = g.linear(b + "attn_v.weight", encoded);
    // One softmax over [own keys; encoder keys]: own keys causal (within the window), the
    // encoder's all visible.
    const int64_t kvw = self.k.cols;
    ref::Mat k(n_dec + n_enc, kvw), v(n_dec + n_enc, kvw), mask(n_dec, n_dec + n_enc);
    std::copy(self.k.v.begin(), self.k.v.end(), k.v.begin());
    std::copy(cross_k.v.begin(), cross_k.v.end(), k.v.begin() + n_dec * kvw);
    std::copy(self.v.v.begin(), self.v.v.end(), v.v.begin());
    std::copy(cross_v.v.begin(), cross_v.v.end(), v.v.begin() + n_dec * kvw);
    for (int64_t i = 0; i < n_dec; ++i)
      for (int64_t t = 0; t < n_dec; ++t)
        if (t > i || (window > 0 && i - t >= window)) mask.at(i, t) = -INFINITY;
    ref::AttentionSpec s = GemmaParts::spec_of(dec);
    s.mask = 0;
    s.explicit_mask = &mask;
    const std::vector<int32_t> slots = iota_positions(size_t(n_dec + n_enc));
    x = g.ffn(dec, b, residual(dec, b, x, ref::attention(self.q, k, v, slots, dec_pos, s)));
  }
  return g.logits(dec, embd, x);
}

std::vector<float> host_gpt2_logits(const GgufFile& f, const Gpt2Config& c, const std::vector<int32_t>& tokens) {
  const std::vector<int32_t> pos = iota_positions(tokens.size());
  auto linear = [&](const std::string& name, const ref::Mat& x) {
    return ref::add(ref::matmul(gguf_mat(f, name + ".weight"), x), gguf_mat(f, name + ".bias"));
  };
  auto norm = [&](const std::string& name, const ref::Mat& x) {
    return ref::layernorm(x, gguf_mat(f, name + ".weight").v, gguf_mat(f, name + ".bias").v, c.norm_eps);
  };
  ref::Mat x = ref::add(ref::get_rows(gguf_mat(f, "token_embd.weight"), tokens), ref::get_rows(gguf_mat(f, "position_embd.weight"), pos));
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    const ref::Mat qkv = linear(b + "attn_qkv", norm(b + "attn_norm", x));
    ref::Mat q(qkv.rows, c.dim), k(qkv.rows, c.dim), v(qkv.rows, c.dim);
    for (int64_t r = 0; r < qkv.rows; ++r)
      for (int64_t j = 0; j < c.dim; ++j) {
        q.at(r, j) = qkv.at(r, j);
        k.at(r, j) = qkv.at(r, c.dim + j);
        v.at(r, j) = qkv.at(r, 2 * c.dim + j);
      }
    ref::AttentionSpec spec{c.n_heads, c.n_heads, c.head_dim()};
    spec.scale = 1.0f / std::sqrt(float(c.head_dim()));
    x = ref::add(x, linear(b + "attn_output", ref::attention(q, k, v, pos, pos, spec)));
    ref::Mat up = linear(b + "ffn_up", norm(b + "ffn_norm", x));
    x = ref::add(x, linear(b + "ffn_down", ref::gelu_tanh(up)));
  }
  ref::Mat h = norm("output_norm", x);
  return ref::matmul(gguf_mat(f, f.find("output.weight") ? "output.weight" : "token_embd.weight"), h).v;
}

void check_against_llama_cpp(Model& model, const std::vector<ReferenceSequence>& sequences,
                             const std::function<std::vector<float>(const std::vector<int32_t>&)>& host) {
  for (const auto& s : sequences) {
    CAPTURE(s.name);
    KvCache whole(model.device(), model.cache_config(int64_t(s.tokens.size())));
    const auto prefill = model.forward(whole, s.tokens, iota_positions(s.tokens.size()));
    KvCache steps(model.device(), model.cache_config(int64_t(s.tokens.size())));
    float decode_vs_prefill = 0;
    for (size_t i = 0; i < s.tokens.size(); ++i) {
      const auto logits = model.forward(steps, {&s.tokens[i], 1}, std::vector<int32_t>{int32_t(i)});
      decode_vs_prefill = std::max(decode_vs_prefill, max_abs_diff(logits, std::span(prefill).subspan(i * logits.size(), logits.size())));
    }
    const float prefill_error = max_abs_diff(prefill, s.logits.data);
    MESSAGE(s.name << ": max abs error " << prefill_error << " in one prefill, decoding differs by " << decode_vs_prefill);
    CHECK(decode_vs_prefill <= 1e-5f);
    CHECK(prefill_error <= 1e-4f);
    CHECK(max_abs_diff(host(s.tokens), s.logits.data) <= 1e-4f);
  }
}

void check_generation_with_cross_cache(Model& model, const std::vector<int32_t>& input) {
  Session cached(model, {.context = 24}), reencoded(model, {.context = 24}), recomputed(model, {.context = 24, .use_cache = false});
  for (Session* s : {&cached, &reencoded, &recomputed}) s->encode(input);
  Sampler a(SamplerOptions::unfiltered(7)), b(SamplerOptions::unfiltered(7));
  int32_t ta = model.decoder_start_token(), tb = ta;
  float worst = 0;
  for (int i = 0; i < 20; ++i) {
    const auto la = cached.decode_last({&ta, 1}), lb = recomputed.decode_last({&tb, 1});
    // The same decoder steps, with the encoder rerun (and its K/V projected again) before each.
    const std::vector<int32_t> held = reencoded.tokens();
    reencoded.encode(input);
    for (int32_t t : held) reencoded.decode_last({&t, 1});
    CHECK(reencoded.decode_last({&ta, 1}) == la);
    worst = std::max(worst, max_abs_diff(la, lb));
    ta = a.sample(la);
    tb = b.sample(lb);
    REQUIRE(ta == tb);
  }
  CHECK(worst <= 1e-5f);
  CHECK(cached.tokens() == recomputed.tokens());
}

}  // namespace vkllm::test
