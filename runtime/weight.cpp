#include "runtime/weight.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "runtime/device.h"
#include "runtime/error.h"

namespace vkllm {

const char* weight_format_name(WeightFormat f) {
  switch (f) {
    case WeightFormat::Plain: return "plain";
    case WeightFormat::Q8_0: return "Q8_0";
    case WeightFormat::Q4_0: return "Q4_0";
    case WeightFormat::Q4_K: return "Q4_K";
    case WeightFormat::Q5_K: return "Q5_K";
    case WeightFormat::Q6_K: return "Q6_K";
  }
  return "?";
}

BlockLayout block_layout(WeightFormat f) {
  switch (f) {
    case WeightFormat::Q8_0: return {32, 34, 8, true};
    case WeightFormat::Q4_0: return {32, 18, 4, true};
    case WeightFormat::Q4_K: return {256, 144, 36, false};
    case WeightFormat::Q5_K: return {256, 176, 44, false};
    case WeightFormat::Q6_K: return {256, 210, 52, true};
    case WeightFormat::Plain: break;
  }
  throw Error("block_layout: not a block format");
}

Weight Weight::from_blocks(Device& d, WeightFormat format, int64_t rows, int64_t cols, std::span<const uint8_t> blocks,
                           std::string_view name) {
  const BlockLayout l = block_layout(format);
  const std::string what = std::string(weight_format_name(format)) + " weight '" + std::string(name) + "'";
  if (cols % l.values != 0) throw Error(what + ": columns must be whole blocks of " + std::to_string(l.values));
  const int64_t per_row = cols / l.values, n = rows * per_row;
  if (int64_t(blocks.size()) != n * l.file_bytes)
    throw Error(what + ": " + std::to_string(blocks.size()) + " bytes for " + std::to_string(rows) + " x " + std::to_string(cols));
  // Where each block's f16 scale sits in the file, and where its words start.
  const int64_t scale_at = format == WeightFormat::Q6_K ? 208 : 0, body_at = format == WeightFormat::Q6_K ? 0 : 2;
  std::vector<uint8_t> body(size_t(n * l.words * 4));
  std::vector<uint16_t> scales(l.split_scale ? size_t(n) : 0);
  // The f16 scales each block holds (Q4_K and Q5_K: d and dmin), which must be finite.
  const std::vector<int64_t> scale_offsets = format == WeightFormat::Q6_K                                   ? std::vector<int64_t>{208}
                                             : format == WeightFormat::Q4_K || format == WeightFormat::Q5_K ? std::vector<int64_t>{0, 2}
                                                                                                            : std::vector<int64_t>{0};
  for (int64_t b = 0; b < n; ++b) {
    const uint8_t* block = blocks.data() + b * l.file_bytes;
    for (int64_t at : scale_offsets) {
      uint16_t h;
      std::memcpy(&h, block + at, 2);
      if ((h & 0x7c00) == 0x7c00)
        throw Error(what + ": the scale of block " + std::to_string(b % per_row) + " in row " + std::to_string(b / per_row) +
                    " is NaN or infinity: the file is corrupt");
    }
    if (l.split_scale) {
      std::memcpy(&scales[size_t(b)], block + scale_at, 2);
      std::memcpy(body.data() + b * l.words * 4, block + body_at, size_t(l.words * 4));
    } else {
      std::memcpy(body.data() + b * l.words * 4, block, size_t(l.words * 4));
    }
  }
  Weight w;
  w.format = format;
  w.block_cols = cols;
  w.values = d.tensor(DType::I32, rows, per_row * l.words, name);
  d.upload(w.values, body.data());
  if (l.split_scale) {
    w.scales = d.tensor(DType::F16, rows, per_row, name);
    d.upload(w.scales, scales.data());
  }
  return w;
}

}  // namespace vkllm

namespace vkllm {

int64_t StackedWeight::rows() const {
  int64_t n = 0;
  for (const Weight& w : parts) n += w.rows();
  return n;
}

StackedWeight StackedWeight::slice_rows(int64_t first, int64_t count) const {
  if (first < 0 || count < 0 || first + count > rows())
    throw Error("stacked weight rows [" + std::to_string(first) + ", " + std::to_string(first + count) + ") are outside its " +
                std::to_string(rows()));
  StackedWeight out;
  int64_t start = 0;  // of the current part
  for (const Weight& w : parts) {
    const int64_t lo = std::max(first, start), hi = std::min(first + count, start + w.rows());
    if (lo < hi) out.parts.push_back(w.slice_rows(lo - start, hi - lo));
    start += w.rows();
  }
  return out;
}

namespace {
bool same_layout(const Weight& a, const Weight& b) {
  return a.format == b.format && a.cols() == b.cols() && a.values.dtype == b.values.dtype;
}

// Rows of `tensors` (same dtype and cols) one after another in a new tensor.
Tensor concat_rows(Device& d, const std::vector<const Tensor*>& tensors, std::string_view name) {
  int64_t rows = 0;
  for (const Tensor* t : tensors) rows += t->rows;
  Tensor out = d.tensor(tensors[0]->dtype, rows, tensors[0]->cols, name);
  int64_t at = 0;
  for (const Tensor* t : tensors) {
    d.copy(*t, out.slice_rows(at, t->rows));
    at += t->rows;
  }
  return out;
}
}  // namespace

StackedWeight stack_rows(Device& d, std::vector<Weight> parts, std::string_view name) {
  require(!parts.empty(), "stack_rows: no parts");
  for (const Weight& w : parts)
    require(w.cols() == parts[0].cols(), "stack_rows '" + std::string(name) + "': parts of different widths");
  StackedWeight out;
  for (size_t i = 0; i < parts.size();) {
    size_t j = i + 1;
    while (j < parts.size() && same_layout(parts[i], parts[j])) ++j;
    if (j == i + 1) {
      out.parts.push_back(std::move(parts[i]));
    } else {
      std::vector<const Tensor*> values, scales;
      for (size_t p = i; p < j; ++p) {
        values.push_back(&parts[p].values);
        if (parts[p].scales.storage) scales.push_back(&parts[p].scales);
      }
      Weight w = parts[i];
      w.values = concat_rows(d, values, name);
      if (!scales.empty()) w.scales = concat_rows(d, scales, name);
      out.parts.push_back(std::move(w));
    }
    i = j;
  }
  return out;  // `parts` goes here, and with it the separate copies
}

Tensor stack_cols(Device& d, const std::vector<Tensor>& rows, std::string_view name) {
  size_t present = 0;
  int64_t cols = 0;
  for (const Tensor& t : rows) {
    present += t.storage ? 1 : 0;
    cols += t.cols;
  }
  if (present == 0) return {};
  require(present == rows.size(), "stack_cols '" + std::string(name) + "': some rows are absent");
  Tensor out = d.tensor(rows[0].dtype, 1, cols, name);
  int64_t at = 0;
  for (const Tensor& t : rows) {
    require(t.rows == 1 && t.dtype == out.dtype, "stack_cols '" + std::string(name) + "': " + t.describe() + " is not one row");
    d.copy(t, out.slice_cols(at, t.cols));
    at += t.cols;
  }
  return out;
}

}  // namespace vkllm
