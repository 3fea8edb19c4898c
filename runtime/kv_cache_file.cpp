#include "runtime/kv_cache_file.h"

#include <bit>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "runtime/device.h"
#include "runtime/error.h"
#include "runtime/hash.h"
#include "runtime/kv_cache.h"

namespace vkllm {

namespace {

static_assert(std::endian::native == std::endian::little, "cache files are written in the host's byte order");

constexpr char kMagic[8] = {'v', 'k', 'l', 'l', 'm', '-', 'k', 'v'};
constexpr uint32_t kVersion = 1;
constexpr uint32_t kFlagTwoD = 1, kFlagCross = 2;

struct Header {
  char magic[8];
  uint32_t version, types;
  uint64_t model_fingerprint, layout_hash;
  uint32_t n_layers, n_kv_heads, head_dim, flags;
  uint64_t entries, cross_entries, tokens, encoder_tokens;
};
static_assert(sizeof(Header) == 80);

// The types field: K's code in the low 16 bits, V's in the high 16 (0: V's is K's, so that a
// cache of one type keeps the code files had before K and V could differ).
constexpr DType kCodeTypes[] = {DType::F32, DType::F16, DType::Q8_0, DType::Q4_0};  // codes 1..4

uint32_t type_code(DType t) {
  for (uint32_t i = 0; i < 4; ++i)
    if (kCodeTypes[i] == t) return i + 1;
  return 0;
}
uint32_t types_code(const KvTypes& t) { return type_code(t.k) | (t.v == t.k ? 0 : type_code(t.v) << 16); }
std::optional<KvTypes> types_of_code(uint32_t c) {
  const uint32_t k = c & 0xFFFF, v = (c >> 16) ? c >> 16 : k;
  if (k < 1 || k > 4 || v < 1 || v > 4) return std::nullopt;
  return KvTypes{kCodeTypes[k - 1], kCodeTypes[v - 1]};
}

void add_rope(Hash64& h, const RopeConfig& r) {
  // Every field of RopeConfig: they all change the rotation a key carries.
  for (double d : {double(r.pairing), double(r.head_dim), double(r.rotary_dim), r.theta, r.freq_scale, r.llama3_factor,
                   r.llama3_low_freq_factor, r.llama3_high_freq_factor, double(r.llama3_original_context), r.yarn_ext_factor,
                   r.yarn_attn_factor, r.yarn_beta_fast, r.yarn_beta_slow, double(r.yarn_original_context)})
    h.add(&d, sizeof d);
  h.add_span(std::span<const double>(r.freq_factors));
}

// What must match for the file's keys to mean the same in this cache: each layer's RoPE and window.
uint64_t layout_hash(const KvCache& c) {
  Hash64 h;
  h.add_u64(uint64_t(c.config().n_layers));
  for (int l = 0; l < c.config().n_layers; ++l) {
    h.add_u64(uint64_t(c.window(l)));
    h.add_u64(c.config().rope ? 1 : 0);
    if (c.config().rope) add_rope(h, c.rope(l));
  }
  return h.value();
}

Header header_of(const KvCache& c, const CacheFileRecord& r) {
  Header h{};
  std::memcpy(h.magic, kMagic, 8);
  h.version = kVersion;
  h.types = types_code(c.config().types);
  h.model_fingerprint = r.model_fingerprint;
  h.layout_hash = layout_hash(c);
  h.n_layers = uint32_t(c.config().n_layers);
  h.n_kv_heads = uint32_t(c.config().n_kv_heads);
  h.head_dim = uint32_t(c.config().head_dim);
  h.flags = (c.two_d() ? kFlagTwoD : 0) | (c.has_cross() ? kFlagCross : 0);
  h.entries = uint64_t(c.size());
  h.cross_entries = c.has_cross() ? uint64_t(c.cross().size()) : 0;
  h.tokens = r.tokens.size();
  h.encoder_tokens = r.encoder_tokens.size();
  return h;
}

class Writer {
 public:
  explicit Writer(const std::string& path) : path_(path), out_(path, std::ios::binary | std::ios::trunc) {
    if (!out_) throw Error("cannot write cache file " + path);
  }
  void put(const void* data, size_t bytes) {
    hash_.add(data, bytes);
    out_.write(static_cast<const char*>(data), std::streamsize(bytes));
  }
  template <class T>
  void put(std::span<const T> s) {
    put(s.data(), s.size_bytes());
  }
  void finish() {
    const uint64_t sum = hash_.value();
    out_.write(reinterpret_cast<const char*>(&sum), 8);
    out_.close();
    if (!out_) throw Error("writing cache file " + path_ + " failed (disk full?)");
  }

 private:
  std::string path_;
  std::ofstream out_;
  Hash64 hash_;
};

// Bytes the body (between the header and the checksum) must have, or nullopt where the
// header's counts overflow: a corrupt header must not become a huge allocation.
std::optional<uint64_t> body_bytes(const Header& h) {
  constexpr uint64_t kLimit = uint64_t(1) << 40;  // counts past this are no real cache's
  const auto types = types_of_code(h.types);
  const uint64_t width = uint64_t(h.n_kv_heads) * h.head_dim;
  for (uint64_t v : {h.entries, h.cross_entries, h.tokens, h.encoder_tokens, uint64_t(h.n_layers) * width})
    if (v > kLimit) return std::nullopt;
  if (!types || ((block_rows(types->k) || block_rows(types->v)) && width % 32 != 0)) return std::nullopt;
  // A K row and a V row.
  const uint64_t row = uint64_t(row_units(types->k, int64_t(width))) * dtype_size(types->k) +
                       uint64_t(row_units(types->v, int64_t(width))) * dtype_size(types->v);
  const uint64_t ints = h.entries * ((h.flags & kFlagTwoD) ? 2 : 1) + h.cross_entries + h.tokens + h.encoder_tokens;
  const uint64_t rows = uint64_t(h.n_layers) * (h.entries + h.cross_entries);
  if (row != 0 && rows > std::numeric_limits<uint64_t>::max() / 4 / row) return std::nullopt;
  return ints * 4 + rows * row;
}

class Reader {
 public:
  Reader(const std::string& path, uint64_t at) : path_(path), in_(path, std::ios::binary) {
    if (!in_) throw Error("cannot open cache file " + path);
    in_.seekg(std::streamoff(at));
  }
  void get(void* data, size_t bytes) {
    in_.read(static_cast<char*>(data), std::streamsize(bytes));
    if (size_t(in_.gcount()) != bytes) throw Error(path_ + ": reading the cache file failed");
  }
  std::vector<int32_t> ints(uint64_t n) {
    std::vector<int32_t> v(static_cast<size_t>(n));
    get(v.data(), v.size() * 4);
    return v;
  }
  std::vector<uint8_t> bytes(uint64_t n) {
    std::vector<uint8_t> v(static_cast<size_t>(n));
    get(v.data(), v.size());
    return v;
  }

 private:
  std::string path_;
  std::ifstream in_;
};

std::string shape_of(uint32_t layers, uint32_t heads, uint32_t head_dim) {
  return std::to_string(layers) + " layers of " + std::to_string(heads) + " kv heads x " + std::to_string(head_dim);
}

// Every check of the header, the length and the checksum.
Header check_file(const std::string& path, const CacheFileTarget& t) {
  std::error_code ec;
  const uint64_t length = std::filesystem::file_size(path, ec);
  if (ec) throw Error("cannot open cache file " + path + ": " + ec.message());
  Header h{};
  Reader(path, 0).get(&h, size_t(std::min<uint64_t>(length, sizeof h)));
  if (std::memcmp(h.magic, kMagic, size_t(std::min<uint64_t>(length, 8))) != 0 || length == 0)
    throw Error(path + ": not a vkllm cache file (its first bytes are not \"vkllm-kv\")");
  if (length < sizeof h)
    throw Error(path + ": truncated cache file: " + std::to_string(length) + " bytes, shorter than its 80-byte header");
  if (h.version != kVersion)
    throw Error(path + ": cache file version " + std::to_string(h.version) + "; this vkllm reads version " + std::to_string(kVersion));
  const auto body = body_bytes(h);
  if (!body) throw Error(path + ": corrupt cache file: its header's counts are impossibly large");
  const uint64_t want = sizeof h + *body + 8;
  if (length != want)
    throw Error(path + ": " + (length < want ? "truncated" : "overlong") + " cache file: " + std::to_string(length) +
                " bytes, its header describes " + std::to_string(want));

  Hash64 sum;
  Reader in(path, 0);
  std::vector<uint8_t> chunk(1 << 20);
  for (uint64_t left = length - 8; left > 0;) {
    const size_t n = size_t(std::min<uint64_t>(left, chunk.size()));
    in.get(chunk.data(), n);
    sum.add(chunk.data(), n);
    left -= n;
  }
  uint64_t stored = 0;
  in.get(&stored, 8);
  if (stored != sum.value()) throw Error(path + ": corrupt cache file: its checksum does not match its contents");

  char hex[2][24];
  std::snprintf(hex[0], sizeof hex[0], "%016llx", static_cast<unsigned long long>(h.model_fingerprint));
  std::snprintf(hex[1], sizeof hex[1], "%016llx", static_cast<unsigned long long>(t.model_fingerprint));
  if (h.model_fingerprint != t.model_fingerprint)
    throw Error(path + ": the cache was computed by a different model (fingerprint " + hex[0] + "; this model's is " + hex[1] + ")");
  if (h.types != types_code(t.types))
    throw Error(path + ": the file's cache is " + types_of_code(h.types)->describe() + "; this cache is " + t.types.describe());
  if (h.n_layers != t.n_layers || h.n_kv_heads != t.n_kv_heads || h.head_dim != t.head_dim)
    throw Error(path + ": the file's cache has " + shape_of(h.n_layers, h.n_kv_heads, h.head_dim) + "; this one " +
                shape_of(t.n_layers, t.n_kv_heads, t.head_dim));
  if (h.layout_hash != t.layout_hash || bool(h.flags & kFlagTwoD) != t.two_d)
    throw Error(path + ": the file's cache rotates keys or windows layers differently from this one");
  if (bool(h.flags & kFlagCross) != t.cross)
    throw Error(path + (t.cross ? ": the file has no cross-attention part; this cache needs one"
                                : ": the file has a cross-attention part; this cache has none"));
  if (h.entries > t.capacity)
    throw Error(path + ": the file holds " + std::to_string(h.entries) + " entries; this cache has room for " + std::to_string(t.capacity));
  if (t.cross && h.cross_entries > t.cross_capacity)
    throw Error(path + ": the file holds " + std::to_string(h.cross_entries) + " encoder entries; this cache has room for " +
                std::to_string(t.cross_capacity));
  return h;
}

}  // namespace

void save_cache_file(const std::string& path, const KvCache& cache, const CacheFileRecord& record) {
  const std::string temp = path + ".partial";
  try {
    Writer w(temp);
    const Header h = header_of(cache, record);
    w.put(&h, sizeof h);
    w.put(cache.positions());
    w.put(cache.block_positions());
    if (cache.has_cross()) w.put(cache.cross().positions());
    w.put(std::span<const int32_t>(record.tokens));
    w.put(std::span<const int32_t>(record.encoder_tokens));
    for (const KvCache* c : {&cache, cache.has_cross() ? &cache.cross() : nullptr}) {
      if (!c) continue;
      for (int l = 0; l < c->config().n_layers; ++l) {
        w.put(std::span<const uint8_t>(c->read_k(l, 0, c->size())));
        w.put(std::span<const uint8_t>(c->read_v(l, 0, c->size())));
      }
    }
    w.finish();
    std::filesystem::rename(temp, path);
  } catch (...) {
    std::error_code ignored;
    std::filesystem::remove(temp, ignored);
    throw;
  }
}

CacheFileTarget cache_file_target(const KvCache& cache, uint64_t model_fingerprint) {
  const KvCacheConfig& c = cache.config();
  return {model_fingerprint, layout_hash(cache), c.types, uint32_t(c.n_layers), uint32_t(c.n_kv_heads), uint32_t(c.head_dim),
          cache.two_d(), cache.has_cross(), uint64_t(cache.capacity()), cache.has_cross() ? uint64_t(cache.cross().capacity()) : 0};
}

std::optional<CacheFileTarget> cache_file_declared(const std::string& path) {
  Header h{};
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(&h), sizeof h);
  if (in.gcount() != sizeof h || std::memcmp(h.magic, kMagic, 8) != 0 || !body_bytes(h)) return std::nullopt;
  return CacheFileTarget{h.model_fingerprint, h.layout_hash, *types_of_code(h.types), h.n_layers, h.n_kv_heads,
                         h.head_dim, bool(h.flags & kFlagTwoD), bool(h.flags & kFlagCross), h.entries, h.cross_entries};
}

CacheFileContents read_cache_file(const std::string& path, const CacheFileTarget& target) {
  const Header h = check_file(path, target);
  Reader in(path, sizeof h);
  CacheFileContents c;
  c.positions = in.ints(h.entries);
  c.block_positions = in.ints((h.flags & kFlagTwoD) ? h.entries : 0);
  c.cross_positions = in.ints(h.cross_entries);
  c.record = {h.model_fingerprint, in.ints(h.tokens), in.ints(h.encoder_tokens)};
  c.rows_offset = sizeof h + 4 * (h.entries * ((h.flags & kFlagTwoD) ? 2 : 1) + h.cross_entries + h.tokens + h.encoder_tokens);
  // Positions as the file has them (reserve's checks, with any order allowed), before a byte
  // of the cache changes.
  for (const auto* p : {&c.positions, &c.block_positions, &c.cross_positions})
    for (int32_t v : *p)
      if (v < 0) throw Error(path + ": corrupt cache file: a negative position");
  return c;
}

CacheFileRecord load_cache_file(const std::string& path, KvCache& cache, uint64_t model_fingerprint) {
  const CacheFileContents file = read_cache_file(path, cache_file_target(cache, model_fingerprint));
  Reader in(path, file.rows_offset);
  Device& device = cache.device();
  auto fill = [&](uint64_t entries) {
    return [&in, &device, entries](int, const Tensor& k, const Tensor& v) {
      for (const Tensor* t : {&k, &v}) device.upload(*t, in.bytes(entries * t->row_bytes()).data());
    };
  };
  cache.assign(file.positions, file.block_positions, fill(file.positions.size()));
  if (cache.has_cross()) {
    try {
      cache.cross().assign(file.cross_positions, {}, fill(file.cross_positions.size()));
    } catch (...) {
      cache.clear();
      throw;
    }
  }
  return file.record;
}

}  // namespace vkllm
