#include "models/gguf_writer.h"

#include <fstream>

#include "runtime/error.h"

namespace vkllm {

namespace {
constexpr uint64_t kAlignment = 32;
template <class T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}
void put_string(std::string& out, const std::string& s) {
  put<uint64_t>(out, s.size());
  out += s;
}
}  // namespace

void GgufWriter::begin(const std::string& key, uint32_t type) {
  put_string(metadata_, key);
  put<uint32_t>(metadata_, type);
  ++n_kv_;
}

void GgufWriter::begin_array(const std::string& key, uint32_t item_type, uint64_t count) {
  begin(key, 9);
  put<uint32_t>(metadata_, item_type);
  put<uint64_t>(metadata_, count);
}

void GgufWriter::set_string(const std::string& key, const std::string& value) {
  begin(key, 8);
  put_string(metadata_, value);
}

void GgufWriter::set_u32(const std::string& key, uint32_t value) {
  begin(key, 4);
  put<uint32_t>(metadata_, value);
}

void GgufWriter::set_bool(const std::string& key, bool value) {
  begin(key, 7);  // GGUF value type 7: bool, one byte
  put<uint8_t>(metadata_, value ? 1 : 0);
}

void GgufWriter::set_f32(const std::string& key, float value) {
  begin(key, 6);
  put<float>(metadata_, value);
}

void GgufWriter::set_strings(const std::string& key, const std::vector<std::string>& values) {
  begin_array(key, 8, values.size());
  for (auto& v : values) put_string(metadata_, v);
}

void GgufWriter::set_u8s(const std::string& key, const std::vector<uint8_t>& values) {
  begin_array(key, 0, values.size());
  for (uint8_t v : values) put<uint8_t>(metadata_, v);
}

void GgufWriter::set_f32s(const std::string& key, const std::vector<float>& values) {
  begin_array(key, 6, values.size());
  for (float v : values) put<float>(metadata_, v);
}

void GgufWriter::set_i32s(const std::string& key, const std::vector<int32_t>& values) {
  begin_array(key, 5, values.size());
  for (int32_t v : values) put<int32_t>(metadata_, v);
}

void GgufWriter::add_tensor(const std::string& name, std::vector<uint64_t> dims, uint32_t type, std::vector<uint8_t> data) {
  tensors_.push_back({name, std::move(dims), type, std::move(data)});
}

void GgufWriter::write(const std::string& path) const {
  std::string head = "GGUF";
  put<uint32_t>(head, 3);
  put<uint64_t>(head, tensors_.size());
  put<uint64_t>(head, n_kv_);
  head += metadata_;
  uint64_t offset = 0;
  for (auto& t : tensors_) {
    put_string(head, t.name);
    put<uint32_t>(head, uint32_t(t.dims.size()));
    for (uint64_t d : t.dims) put<uint64_t>(head, d);
    put<uint32_t>(head, t.type);
    put<uint64_t>(head, offset);
    offset += (t.data.size() + kAlignment - 1) / kAlignment * kAlignment;
  }
  head.append((kAlignment - head.size() % kAlignment) % kAlignment, '\0');
  std::ofstream out(path, std::ios::binary);
  if (!out) throw Error("cannot write " + path);
  out.write(head.data(), std::streamsize(head.size()));
  const std::string pad(kAlignment, '\0');
  for (auto& t : tensors_) {
    out.write(reinterpret_cast<const char*>(t.data.data()), std::streamsize(t.data.size()));
    out.write(pad.data(), std::streamsize((kAlignment - t.data.size() % kAlignment) % kAlignment));
  }
  if (!out) throw Error("writing " + path + " failed");
}

}  // namespace vkllm
