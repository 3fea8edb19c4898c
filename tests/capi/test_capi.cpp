// The C API through libvkllm.so alone (this suite links nothing else of vkllm): statuses and
// messages, buffers that are too small, batches over several sequences, failures that change
// nothing, the cache operations and cache files.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <vkllm.h>

namespace {

std::string scratch(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("vkllm-capi-" + std::to_string(getpid()) + "-" + name)).string();
}

// One device and one small model (written by `vkllm make-model`) for the whole suite.
struct World {
  vkllm_device* device = nullptr;
  vkllm_model* model = nullptr;
  int32_t vocab = 0;
  World() {
    const std::string path = scratch("model.gguf");
    const std::string make = std::string(VKLLM_CLI) + " make-model --dim 64 --layers 2 --heads 4 --kv-heads 2 --ffn 128 --vocab 300 --context 64 -o " + path +
                             " >/dev/null";
    REQUIRE(std::system(make.c_str()) == 0);
    vkllm_device_options o = vkllm_device_default_options();
    o.validation = 1;  // ctest fails the suite on any validation message it prints
    REQUIRE(vkllm_device_open(&o, &device) == VKLLM_OK);
    REQUIRE(vkllm_model_load(device, path.c_str(), &model) == VKLLM_OK);
    std::filesystem::remove(path);
    vocab = vkllm_model_vocab(model);
  }
  ~World() {
    vkllm_model_free(model);
    vkllm_device_free(device);
  }
};

World& world() {
  static World w;
  return w;
}

vkllm_sequence* new_sequence(int64_t context = 48) {
  vkllm_sequence_options o = vkllm_sequence_default_options();
  o.context = context;
  vkllm_sequence* s = nullptr;
  REQUIRE(vkllm_sequence_create(world().model, &o, &s) == VKLLM_OK);
  return s;
}

// Appends tokens to one sequence; the logits of its last row.
std::vector<float> feed(vkllm_sequence* s, const std::vector<int32_t>& tokens) {
  std::vector<vkllm_sequence*> rows(tokens.size(), s);
  vkllm_batch b{tokens.size(), tokens.data(), rows.data(), nullptr, nullptr, nullptr};
  std::vector<float> logits(size_t(world().vocab));
  REQUIRE(vkllm_decode(&b, logits.data(), logits.size(), nullptr) == VKLLM_OK);
  return logits;
}

bool same(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * 4) == 0;
}

struct Sequence {  // frees at scope exit, also when an assertion fails
  vkllm_sequence* s;
  explicit Sequence(vkllm_sequence* seq) : s(seq) {}
  ~Sequence() { vkllm_sequence_free(s); }
  operator vkllm_sequence*() const { return s; }
};

}  // namespace

TEST_CASE("failures return a status and a message on this thread; no exception crosses") {
  vkllm_model* m = reinterpret_cast<vkllm_model*>(1);
  CHECK(vkllm_model_load(world().device, "/nonexistent/model.gguf", &m) == VKLLM_ERROR_FILE);
  CHECK(m == nullptr);
  CHECK(std::string(vkllm_last_error()).find("/nonexistent/model.gguf") != std::string::npos);
  std::string other = "unset";
  std::thread([&] { other = vkllm_last_error(); }).join();
  CHECK(other.empty());
  CHECK(vkllm_model_load(nullptr, "x", &m) == VKLLM_ERROR_INVALID_ARGUMENT);
  int major = -1, minor = -1, patch = -1;
  vkllm_version(&major, &minor, &patch);
  CHECK((major == VKLLM_VERSION_MAJOR && minor == VKLLM_VERSION_MINOR && patch == VKLLM_VERSION_PATCH));
  CHECK(std::string(vkllm_status_name(VKLLM_ERROR_CONTEXT_OVERFLOW)) == "VKLLM_ERROR_CONTEXT_OVERFLOW");
  vkllm_sequence_options wrong = vkllm_sequence_default_options();
  wrong.struct_size = 0;
  vkllm_sequence* s = nullptr;
  CHECK(vkllm_sequence_create(world().model, &wrong, &s) == VKLLM_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(vkllm_last_error()).find("struct_size") != std::string::npos);
}

TEST_CASE("quantized K/V: kv_type for both, v_type for V alone; older option structs keep V as K") {
  const std::vector<int32_t> tokens{5, 17, 3, 250, 9, 9, 41};
  auto logits_with = [&](vkllm_kv_type k, vkllm_kv_type v, size_t struct_size) {
    vkllm_sequence_options o = vkllm_sequence_default_options();
    o.struct_size = struct_size;
    o.context = 16;
    o.kv_type = k;
    o.v_type = v;
    vkllm_sequence* raw = nullptr;
    REQUIRE(vkllm_sequence_create(world().model, &o, &raw) == VKLLM_OK);
    Sequence s(raw);
    std::vector<float> last;
    for (int32_t t : tokens) last = feed(s, {t});
    return last;
  };
  const std::vector<float> f32 = logits_with(VKLLM_KV_F32, VKLLM_KV_AS_K, sizeof(vkllm_sequence_options));
  const std::vector<float> q8 = logits_with(VKLLM_KV_Q8_0, VKLLM_KV_AS_K, sizeof(vkllm_sequence_options));
  const std::vector<float> mixed = logits_with(VKLLM_KV_Q8_0, VKLLM_KV_Q4_0, sizeof(vkllm_sequence_options));
  // A struct from before v_type: whatever follows kv_type is not read, and V is K's type.
  const std::vector<float> old = logits_with(VKLLM_KV_Q8_0, VKLLM_KV_Q4_0, offsetof(vkllm_sequence_options, v_type));
  CHECK(same(old, q8));
  CHECK(!same(q8, f32));
  CHECK(!same(mixed, q8));
  for (size_t i = 0; i < f32.size(); ++i) CHECK(std::fabs(q8[i] - f32[i]) <= 0.05f * (1 + std::fabs(f32[i])));
  vkllm_sequence_options bad = vkllm_sequence_default_options();
  const int seven = 7;  // what a C caller may store; no C++ enum value
  std::memcpy(&bad.v_type, &seven, sizeof seven);
  vkllm_sequence* s = nullptr;
  CHECK(vkllm_sequence_create(world().model, &bad, &s) == VKLLM_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(vkllm_last_error()).find("v_type") != std::string::npos);
}

TEST_CASE("a context shift lets a sequence run past its context; a K/V budget lowers the context") {
  vkllm_sequence_options o = vkllm_sequence_default_options();
  CHECK(o.shift_sinks == 4);
  o.context = 16;
  vkllm_sequence* raw = nullptr;
  REQUIRE(vkllm_sequence_create(world().model, &o, &raw) == VKLLM_OK);
  Sequence plain(raw);
  for (int32_t t = 0; t < 16; ++t) feed(plain, {t});
  std::vector<float> logits(size_t(world().vocab));
  const int32_t next = 16;
  vkllm_sequence* row = plain;
  vkllm_batch b{1, &next, &row, nullptr, nullptr, nullptr};
  CHECK(vkllm_decode(&b, logits.data(), logits.size(), nullptr) == VKLLM_ERROR_CONTEXT_OVERFLOW);

  o.context_shift = 1;
  o.shift_sinks = 2;
  o.shift_keep = 6;
  o.kv_type = VKLLM_KV_Q8_0;
  REQUIRE(vkllm_sequence_create(world().model, &o, &raw) == VKLLM_OK);
  Sequence shifting(raw);
  for (int32_t t = 0; t < 64; ++t) feed(shifting, {t});  // 4x the context
  CHECK(vkllm_sequence_length(shifting) <= 16);
  std::vector<int32_t> positions(16);
  size_t count = 0;
  REQUIRE(vkllm_sequence_positions(shifting, positions.data(), positions.size(), &count) == VKLLM_OK);
  for (size_t i = 0; i < count; ++i) CHECK(positions[i] == int32_t(i));  // llama.cpp's shift keeps them contiguous

  vkllm_sequence_options budget = vkllm_sequence_default_options();
  budget.kv_budget = 20 * 2 * 2 * 32 * 4;  // 20 tokens of 2 layers x (K, V) x 32 f32 values
  REQUIRE(vkllm_sequence_create(world().model, &budget, &raw) == VKLLM_OK);
  Sequence budgeted(raw);
  CHECK(vkllm_sequence_context(budgeted) == 20);
}

TEST_CASE("a memory budget too small for the model is VKLLM_ERROR_OUT_OF_MEMORY; a bad profile is refused") {
  const std::string path = scratch("budget.gguf");
  const std::string make = std::string(VKLLM_CLI) + " make-model --dim 256 --layers 2 --heads 4 --kv-heads 4 --ffn 512 --vocab 300 -o " + path + " >/dev/null";
  REQUIRE(std::system(make.c_str()) == 0);
  vkllm_device_options o = vkllm_device_default_options();
  o.validation = 1;
  o.memory_budget = 256 << 10;
  o.limits = "mobile";
  vkllm_device* small = nullptr;
  REQUIRE(vkllm_device_open(&o, &small) == VKLLM_OK);
  vkllm_model* m = reinterpret_cast<vkllm_model*>(1);
  CHECK(vkllm_model_load(small, path.c_str(), &m) == VKLLM_ERROR_OUT_OF_MEMORY);
  CHECK(m == nullptr);
  CHECK(std::string(vkllm_last_error()).find("memory budget of 256.0 KiB") != std::string::npos);
  vkllm_device_free(small);
  std::filesystem::remove(path);
  o.limits = "phone";
  CHECK(vkllm_device_open(&o, &small) == VKLLM_ERROR_DEVICE);
  CHECK(std::string(vkllm_last_error()).find("not 'phone'") != std::string::npos);
}

TEST_CASE("tokenize and detokenize say how much room they need") {
  const char* text = "Once upon a time";
  size_t n = 0;
  CHECK(vkllm_tokenize(world().model, text, std::strlen(text), 1, 0, nullptr, 0, &n) == VKLLM_ERROR_BUFFER_TOO_SMALL);
  REQUIRE(n > 1);
  std::vector<int32_t> ids(n);
  REQUIRE(vkllm_tokenize(world().model, text, std::strlen(text), 1, 0, ids.data(), ids.size(), &n) == VKLLM_OK);
  size_t length = 0;
  char small[4];
  CHECK(vkllm_detokenize(world().model, ids.data(), n, small, sizeof small, &length) == VKLLM_ERROR_BUFFER_TOO_SMALL);
  std::string back(length + 1, '\0');
  REQUIRE(vkllm_detokenize(world().model, ids.data(), n, back.data(), back.size(), &length) == VKLLM_OK);
  back.resize(length);
  CHECK(back.find("Once upon a time") != std::string::npos);
  const int32_t bad = world().vocab;
  CHECK(vkllm_detokenize(world().model, &bad, 1, back.data(), back.size(), &length) == VKLLM_ERROR_INVALID_ARGUMENT);
}

TEST_CASE("a batch over several sequences gives each the logits it gets alone, in batch order") {
  Sequence a(new_sequence()), b(new_sequence()), a_alone(new_sequence()), b_alone(new_sequence());
  const std::vector<float> want_a = feed(a_alone, {1, 5, 9, 14});
  const std::vector<float> want_b = feed(b_alone, {2, 7, 8});
  // Interleaved rows; a's last row and b's first and last output.
  const int32_t tokens[] = {1, 2, 5, 7, 9, 8, 14};
  vkllm_sequence* const rows[] = {a, b, a, b, a, b, a};
  const int8_t outputs[] = {0, 1, 0, 0, 0, 1, 1};
  vkllm_batch batch{7, tokens, rows, nullptr, nullptr, outputs};
  size_t n_out = 0;
  std::vector<float> logits(3 * size_t(world().vocab));
  CHECK(vkllm_decode(&batch, logits.data(), 2 * size_t(world().vocab), &n_out) == VKLLM_ERROR_BUFFER_TOO_SMALL);
  CHECK(n_out == 3);
  CHECK(vkllm_sequence_length(a) == 0);
  REQUIRE(vkllm_decode(&batch, logits.data(), logits.size(), &n_out) == VKLLM_OK);
  const size_t v = size_t(world().vocab);
  Sequence b_first(new_sequence());
  const std::vector<float> want_b_first = feed(b_first, {2});
  CHECK(same({logits.begin(), logits.begin() + std::ptrdiff_t(v)}, want_b_first));
  CHECK(same({logits.begin() + std::ptrdiff_t(v), logits.begin() + std::ptrdiff_t(2 * v)}, want_b));
  CHECK(same({logits.begin() + std::ptrdiff_t(2 * v), logits.end()}, want_a));
  CHECK(vkllm_sequence_length(a) == 4);
  CHECK(vkllm_sequence_length(b) == 3);

  // The defaults (each sequence's last row, its next positions): one pass for both sequences.
  const int32_t next[] = {20, 21};
  vkllm_sequence* const pair[] = {a, b};
  vkllm_batch together{2, next, pair, nullptr, nullptr, nullptr};
  REQUIRE(vkllm_decode(&together, logits.data(), logits.size(), &n_out) == VKLLM_OK);
  CHECK(n_out == 2);
  const std::vector<float> alone_a = feed(a_alone, {20}), alone_b = feed(b_alone, {21});
  float worst = 0;
  for (size_t i = 0; i < v; ++i) worst = std::max({worst, std::abs(logits[i] - alone_a[i]), std::abs(logits[v + i] - alone_b[i])});
  CHECK(worst <= 1e-4f);
}

TEST_CASE("a failed decode changes no sequence") {
  Sequence a(new_sequence()), b(new_sequence(8));
  const std::vector<float> before = feed(a, {1, 2, 3});
  feed(b, {1, 2, 3, 4, 5, 6});
  const int32_t tokens[] = {4, 7, 8, 9};
  vkllm_sequence* const rows[] = {a, b, b, b};
  vkllm_batch batch{4, tokens, rows, nullptr, nullptr, nullptr};
  std::vector<float> logits(2 * size_t(world().vocab));
  CHECK(vkllm_decode(&batch, logits.data(), logits.size(), nullptr) == VKLLM_ERROR_CONTEXT_OVERFLOW);
  CHECK(std::string(vkllm_last_error()).find("context is 8") != std::string::npos);
  CHECK(vkllm_sequence_length(a) == 3);
  CHECK(vkllm_sequence_length(b) == 6);
  // A bad token id in the second sequence: the first one's rows are taken back.
  const int32_t bad[] = {4, world().vocab};
  vkllm_sequence* const two[] = {a, b};
  vkllm_batch refused{2, bad, two, nullptr, nullptr, nullptr};
  CHECK(vkllm_decode(&refused, logits.data(), logits.size(), nullptr) == VKLLM_ERROR_FAILED);
  CHECK(std::string(vkllm_last_error()).find("out of range") != std::string::npos);
  CHECK(vkllm_sequence_length(a) == 3);
  CHECK(vkllm_sequence_length(b) == 6);
  Sequence fresh(new_sequence());
  CHECK(same(feed(a, {4}), feed(fresh, {1, 2, 3, 4})));
}

TEST_CASE("fork, select, reposition, truncate and clear through the C API") {
  Sequence s(new_sequence());
  feed(s, {1, 10, 11, 12, 20, 21});
  vkllm_sequence* forked = nullptr;
  REQUIRE(vkllm_sequence_fork(s, &forked) == VKLLM_OK);
  Sequence f(forked);
  CHECK(same(feed(s, {30}), feed(f, {30})));  // the fork continues as the original does

  // Keep the first three entries (their K/V never saw the rest), move two of them away and
  // back, and continue at an explicit position: what decoding those tokens directly gives.
  const int64_t keep[] = {0, 1, 2};
  REQUIRE(vkllm_sequence_select(s, keep, 3) == VKLLM_OK);
  REQUIRE(vkllm_sequence_reposition(s, 1, 2, 7, 0) == VKLLM_OK);
  int32_t positions[8];
  size_t count = 0;
  REQUIRE(vkllm_sequence_positions(s, positions, 8, &count) == VKLLM_OK);
  REQUIRE(count == 3);
  CHECK((positions[0] == 0 && positions[1] == 8 && positions[2] == 9));
  REQUIRE(vkllm_sequence_reposition(s, 1, 2, -7, 0) == VKLLM_OK);
  const int32_t token = 30, position = 3;
  vkllm_sequence* row = s;
  vkllm_batch next{1, &token, &row, &position, nullptr, nullptr};
  std::vector<float> moved(size_t(world().vocab));
  REQUIRE(vkllm_decode(&next, moved.data(), moved.size(), nullptr) == VKLLM_OK);
  Sequence direct(new_sequence());
  const std::vector<float> want = feed(direct, {1, 10, 11, 30});
  float worst = 0;
  for (size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::abs(want[i] - moved[i]));
  CHECK(worst < 1e-3f);

  CHECK(vkllm_sequence_reposition(s, 2, 5, 1, 0) == VKLLM_ERROR_FAILED);  // past the filled slots
  REQUIRE(vkllm_sequence_truncate(s, 1) == VKLLM_OK);
  CHECK(vkllm_sequence_length(s) == 1);
  REQUIRE(vkllm_sequence_copy(f, s) == VKLLM_OK);
  CHECK(vkllm_sequence_length(s) == vkllm_sequence_length(f));
  REQUIRE(vkllm_sequence_clear(s) == VKLLM_OK);
  CHECK(vkllm_sequence_length(s) == 0);
}

TEST_CASE("a saved sequence loads back bit for bit; a damaged file is refused and changes nothing") {
  const std::string file = scratch("seq.vkkv"), damaged = scratch("damaged.vkkv");
  Sequence s(new_sequence());
  feed(s, {1, 3, 5, 7, 9});
  REQUIRE(vkllm_sequence_save(s, file.c_str()) == VKLLM_OK);
  Sequence t(new_sequence());
  feed(t, {2, 4});
  REQUIRE(vkllm_sequence_load(t, file.c_str()) == VKLLM_OK);
  CHECK(vkllm_sequence_length(t) == 5);
  CHECK(same(feed(s, {11}), feed(t, {11})));

  std::vector<char> bytes;
  {
    std::ifstream in(file, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  bytes[bytes.size() / 2] ^= 4;
  std::ofstream(damaged, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  CHECK(vkllm_sequence_load(t, damaged.c_str()) == VKLLM_ERROR_FILE);
  CHECK(std::string(vkllm_last_error()).find("checksum") != std::string::npos);
  CHECK(vkllm_sequence_length(t) == 6);
  Sequence small(new_sequence(4));
  CHECK(vkllm_sequence_load(small, file.c_str()) == VKLLM_ERROR_FILE);
  CHECK(vkllm_sequence_length(small) == 0);
  std::filesystem::remove(file);
  std::filesystem::remove(damaged);
}

TEST_CASE("samplers: greedy takes the argmax, a seed repeats its draws") {
  std::vector<float> logits(50, 0.0f);
  logits[17] = 5.0f;
  logits[3] = 4.5f;
  vkllm_sampler_options o = vkllm_sampler_default_options();
  o.temperature = 0;
  vkllm_sampler* greedy = nullptr;
  REQUIRE(vkllm_sampler_create(&o, &greedy) == VKLLM_OK);
  int32_t token = -1;
  REQUIRE(vkllm_sampler_sample(greedy, logits.data(), 50, &token) == VKLLM_OK);
  CHECK(token == 17);
  vkllm_sampler_free(greedy);

  o = vkllm_sampler_default_options();
  o.temperature = 1.5f;
  o.top_k = 0;
  o.seed = 77;
  std::vector<int32_t> draws[2];
  for (auto& d : draws) {
    vkllm_sampler* s = nullptr;
    REQUIRE(vkllm_sampler_create(&o, &s) == VKLLM_OK);
    for (int i = 0; i < 20; ++i) {
      REQUIRE(vkllm_sampler_sample(s, logits.data(), 50, &token) == VKLLM_OK);
      d.push_back(token);
    }
    vkllm_sampler_free(s);
  }
  CHECK(draws[0] == draws[1]);
  CHECK(vkllm_sampler_sample(nullptr, logits.data(), 50, &token) == VKLLM_ERROR_INVALID_ARGUMENT);
}
