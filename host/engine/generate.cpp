#include "host/engine/generate.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "runtime/error.h"

namespace vkllm {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

TokenLogprob logprob_of(std::span<const float> logits, int32_t token, int top) {
  const float max = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (float l : logits) sum += std::exp(double(l - max));
  const double log_sum = double(max) + std::log(sum);
  TokenLogprob out{token, float(double(logits[size_t(token)]) - log_sum), {}};
  std::vector<int32_t> ids(logits.size());
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = int32_t(i);
  const size_t k = std::min(ids.size(), size_t(std::max(top, 0)));
  std::partial_sort(ids.begin(), ids.begin() + std::ptrdiff_t(k), ids.end(),
                    [&](int32_t a, int32_t b) { return logits[size_t(a)] > logits[size_t(b)] || (logits[size_t(a)] == logits[size_t(b)] && a < b); });
  for (size_t i = 0; i < k; ++i) out.top.emplace_back(ids[i], float(double(logits[size_t(ids[i])]) - log_sum));
  return out;
}

}  // namespace

Generation::Generation(const Tokenizer* tokenizer, std::span<const int32_t> history, const GenerateOptions& o)
    : options_(o), tokenizer_(tokenizer), sampler_(o.sampling), stops_(o.stop) {
  require(o.max_tokens >= 0, "generate: the token budget is negative");
  require(o.stop.empty() || tokenizer, "generate: stop strings need a tokenizer");
  for (int32_t t : history) sampler_.accept(t);
  if (tokenizer) stream_.emplace(*tokenizer);
  done_ = o.max_tokens == 0;
}

// Holds back text that might begin a stop string, and cuts before one once it is complete.
std::string Generation::release(std::string_view piece, bool& stopped) {
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

Generation::Step Generation::next(std::span<const float> logits) {
  require(!done_, "generate: the generation has ended");
  Step step;
  const int32_t token = sampler_.sample(logits);
  bool stopped = false;
  if (options_.stop_at_end_of_generation && tokenizer_ && tokenizer_->ends_generation(token)) {
    stop_ = GenerateResult::Stop::EndOfGeneration;
    done_ = true;
  } else {
    sampler_.accept(token);
    tokens_.push_back(token);
    step.token = token;
    if (options_.top_logprobs >= 0) step.logprob = logprob_of(logits, token, options_.top_logprobs);
    if (stream_) step.text = release(stream_->push(token), stopped);
    if (stopped) stop_ = GenerateResult::Stop::StopString;
    done_ = stopped || int(tokens_.size()) >= options_.max_tokens;
  }
  if (done_ && stream_ && !stopped) {  // the end of the text: incomplete characters and held-back prefixes go out
    step.text += release(stream_->flush(), stopped);
    if (stopped) stop_ = GenerateResult::Stop::StopString;
    else step.text += std::exchange(held_, {});
  }
  step.done = done_;
  return step;
}

GenerateResult generate(Session& session, const Tokenizer* tokenizer, std::span<const int32_t> prompt, const GenerateOptions& o,
                        const std::function<void(std::string_view)>& on_text, const std::function<void(int32_t)>& on_token) {
  require(!prompt.empty(), "generate: the prompt has no tokens");
  require(o.max_tokens >= 0, "generate: the token budget is negative");
  // With a context shift the session makes room as it goes: the prompt must fit beside the sinks.
  const auto& shift = session.context_shift();
  const int64_t needed = shift ? std::min<int64_t>(shift->sinks, int64_t(session.tokens().size())) + int64_t(prompt.size())
                               : int64_t(session.tokens().size() + prompt.size()) + o.max_tokens;
  if (needed > session.context())
    throw Error("context overflow: " + std::to_string(session.tokens().size() + prompt.size()) + " prompt tokens" +
                (shift ? "" : " + " + std::to_string(o.max_tokens) + " to generate") + " exceed the context of " +
                std::to_string(session.context()));

  std::vector<int32_t> history = session.tokens();
  history.insert(history.end(), prompt.begin(), prompt.end());
  Generation gen(tokenizer, history, o);
  GenerateResult r;
  auto t0 = std::chrono::steady_clock::now();
  std::vector<float> logits = session.decode_last(prompt);
  r.prompt_seconds = seconds_since(t0);
  if (o.after_prompt) o.after_prompt();
  t0 = std::chrono::steady_clock::now();
  while (!gen.done()) {
    const Generation::Step step = gen.next(logits);
    if (step.token >= 0 && on_token) on_token(step.token);
    if (!step.text.empty()) {
      r.text += step.text;
      if (on_text) on_text(step.text);
    }
    if (!step.done) logits = session.decode_last({&step.token, 1});
  }
  r.tokens = gen.tokens();
  r.stop = gen.stop();
  r.generate_seconds = seconds_since(t0);
  return r;
}

}  // namespace vkllm
