#include "host/tokenizer/pattern.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <optional>

#include "host/tokenizer/utf8.h"
#include "runtime/error.h"

namespace vkllm {

struct Pattern::Compiled {
  pcre2_code* code = nullptr;
  pcre2_match_data* match = nullptr;
  ~Compiled() {
    pcre2_match_data_free(match);
    pcre2_code_free(code);
  }
};

Pattern::Pattern() = default;
Pattern::~Pattern() = default;
Pattern::Pattern(Pattern&&) noexcept = default;
Pattern& Pattern::operator=(Pattern&&) noexcept = default;

Pattern Pattern::literal(std::string text) {
  Pattern p;
  p.literal_ = std::move(text);
  return p;
}

Pattern Pattern::regex(const std::string& expression, const std::string& source) {
  Pattern p;
  p.compiled_ = std::make_unique<Compiled>();
  int code = 0;
  PCRE2_SIZE offset = 0;
  // UCP: \s, \w, \p{L} and friends use Unicode properties. Text that is not well-formed UTF-8
  // is matched around, never rejected.
  p.compiled_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(expression.data()), expression.size(),
                                    PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &code, &offset, nullptr);
  if (!p.compiled_->code) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(code, message, sizeof message);
    throw Error(source + ": the regular expression '" + expression + "' does not compile (" + reinterpret_cast<const char*>(message) +
                " at offset " + std::to_string(offset) + ")");
  }
  pcre2_jit_compile(p.compiled_->code, PCRE2_JIT_COMPLETE);  // faster where JIT exists; interpreted otherwise
  p.compiled_->match = pcre2_match_data_create_from_pattern(p.compiled_->code, nullptr);
  return p;
}

std::vector<std::pair<size_t, size_t>> Pattern::find_all(std::string_view text) const {
  std::vector<std::pair<size_t, size_t>> out;
  if (!compiled_) {
    if (literal_.empty()) return out;
    for (size_t at = text.find(literal_); at != std::string_view::npos; at = text.find(literal_, at + literal_.size()))
      out.emplace_back(at, at + literal_.size());
    return out;
  }
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  std::optional<size_t> last_match_end;
  for (size_t search = 0; search <= text.size();) {
    const int rc = pcre2_match(compiled_->code, subject, text.size(), search, 0, compiled_->match, nullptr);
    if (rc < 0) break;
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(compiled_->match);
    const size_t begin = ov[0], end = ov[1];
    if (begin == end && last_match_end == end) {
      if (search >= text.size()) break;
      search += std::max<size_t>(1, utf8::valid_length(text, search));
      continue;
    }
    out.emplace_back(begin, end);
    search = end;
    last_match_end = end;
  }
  return out;
}

}  // namespace vkllm
