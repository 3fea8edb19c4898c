#include "host/session.h"


#include "runtime/error.h"

namespace vkllm {

Session::Session(Model& model, SessionOptions options)
    : model_(model), options_(options), context_(options.context > 0 ? options.context : model.context()) {
  require(context_ <= model.context(),
          "session context " + std::to_string(context_) + " exceeds the model's context of " + std::to_string(model.context()));
  cache_ = std::make_unique<KvCache>(model.device(), model.cache_config(context_, options.kv_type));
}

void Session::clear() {
  cache_->truncate(0);
  tokens_.clear();
}

std::vector<float> Session::decode(std::span<const int32_t> tokens) {
  require(!tokens.empty(), "decode: no tokens");
  const int64_t n_past = int64_t(tokens_.size()), n = int64_t(tokens.size());
  if (n_past + n > context_)
    throw Error("context overflow: " + std::to_string(n_past) + " tokens held + " + std::to_string(n) + " new exceed the context of " +
                std::to_string(context_));
  for (int32_t t : tokens)
    if (t < 0 || t >= vocab())
      throw Error("token id " + std::to_string(t) + " is out of range (vocabulary of " + std::to_string(vocab()) + ")");

  if (options_.use_cache) {
    const PositionPlan plan = model_.plan_positions(tokens_, tokens);
    auto logits = model_.forward(*cache_, tokens, plan.positions, plan.extras());
    tokens_.insert(tokens_.end(), tokens.begin(), tokens.end());
    return logits;
  }
  // No cache: the whole sequence again from an empty cache; keep the new tokens' rows.
  std::vector<int32_t> all = tokens_;
  all.insert(all.end(), tokens.begin(), tokens.end());
  const PositionPlan plan = model_.plan_positions({}, all);
  cache_->truncate(0);
  auto logits = model_.forward(*cache_, all, plan.positions, plan.extras());
  tokens_ = std::move(all);
  const size_t v = size_t(vocab());
  return std::vector<float>(logits.end() - std::ptrdiff_t(size_t(n) * v), logits.end());
}

std::vector<float> Session::decode_last(std::span<const int32_t> tokens) {
  auto logits = decode(tokens);
  return std::vector<float>(logits.end() - vocab(), logits.end());
}

}  // namespace vkllm
