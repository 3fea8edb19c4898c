#include "host/engine/generate.h"

#include <algorithm>
#include <chrono>

#include "runtime/error.h"

namespace vkllm {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Holds back text that might begin a stop string, and finds one once it is complete.
class StopFilter {
 public:
  explicit StopFilter(const std::vector<std::string>& stops) : stops_(stops) {}
  // Adds text; returns what can be released and sets `stopped` when a stop string appeared.
  std::string add(std::string_view piece, bool& stopped) {
    held_.append(piece);
    size_t cut = std::string::npos;
    for (const auto& s : stops_)
      if (!s.empty()) cut = std::min(cut, held_.find(s));
    if (cut != std::string::npos) {
      stopped = true;
      return held_.substr(0, cut);
    }
    // Keep the longest tail that is a proper prefix of some stop string.
    size_t keep = 0;
    for (const auto& s : stops_)
      for (size_t len = std::min(s.size() - 1, held_.size()); len > keep; --len)
        if (held_.compare(held_.size() - len, len, s, 0, len) == 0) {
          keep = len;
          break;
        }
    std::string out = held_.substr(0, held_.size() - keep);
    held_.erase(0, held_.size() - keep);
    return out;
  }
  std::string flush() { return std::exchange(held_, {}); }

 private:
  const std::vector<std::string>& stops_;
  std::string held_;
};

}  // namespace

GenerateResult generate(Session& session, const Tokenizer* tokenizer, std::span<const int32_t> prompt, const GenerateOptions& o,
                        const std::function<void(std::string_view)>& on_text, const std::function<void(int32_t)>& on_token) {
  require(!prompt.empty(), "generate: the prompt has no tokens");
  require(o.max_tokens >= 0, "generate: the token budget is negative");
  require(o.stop.empty() || tokenizer, "generate: stop strings need a tokenizer");
  const int64_t needed = int64_t(session.tokens().size() + prompt.size()) + o.max_tokens;
  if (needed > session.context())
    throw Error("context overflow: " + std::to_string(session.tokens().size() + prompt.size()) + " prompt tokens + " +
                std::to_string(o.max_tokens) + " to generate exceed the context of " + std::to_string(session.context()));

  GenerateResult r;
  Sampler sampler(o.sampling);
  for (int32_t t : session.tokens()) sampler.accept(t);
  for (int32_t t : prompt) sampler.accept(t);
  std::optional<StreamDecoder> stream;
  if (tokenizer) stream.emplace(*tokenizer);
  StopFilter stops(o.stop);
  auto emit = [&](const std::string& text) {
    if (text.empty()) return;
    r.text += text;
    if (on_text) on_text(text);
  };

  auto t0 = std::chrono::steady_clock::now();
  std::vector<float> logits = session.decode_last(prompt);
  r.prompt_seconds = seconds_since(t0);
  if (o.after_prompt) o.after_prompt();
  t0 = std::chrono::steady_clock::now();
  bool stopped = false;
  while (int(r.tokens.size()) < o.max_tokens && !stopped) {
    const int32_t next = sampler.sample(logits);
    if (o.stop_at_end_of_generation && tokenizer && tokenizer->ends_generation(next)) {
      r.stop = GenerateResult::Stop::EndOfGeneration;
      break;
    }
    sampler.accept(next);
    r.tokens.push_back(next);
    if (on_token) on_token(next);
    if (stream) {
      emit(stops.add(stream->push(next), stopped));
      if (stopped) r.stop = GenerateResult::Stop::StopString;
    }
    if (int(r.tokens.size()) < o.max_tokens && !stopped) logits = session.decode_last({&next, 1});
  }
  if (stream && !stopped) {  // the end of the text: incomplete characters and held-back prefixes go out
    emit(stops.add(stream->flush(), stopped));
    if (stopped)
      r.stop = GenerateResult::Stop::StopString;
    else
      emit(stops.flush());
  }
  r.generate_seconds = seconds_since(t0);
  return r;
}

}  // namespace vkllm
