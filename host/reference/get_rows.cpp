#include <stdexcept>
#include <string>

#include "host/reference/reference.h"

namespace vkllm::ref {

Mat get_rows(const Mat& table, std::span<const int32_t> ids) {
  Mat out(int64_t(ids.size()), table.cols);
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= table.rows) throw std::out_of_range("ref get_rows: id " + std::to_string(ids[i]));
    for (int64_t c = 0; c < table.cols; ++c) out.at(int64_t(i), c) = table.at(ids[i], c);
  }
  return out;
}

}  // namespace vkllm::ref
