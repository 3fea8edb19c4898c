#include "host/engine/session.h"


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

std::vector<float> Session::decode(std::span<const int32_t> tokens) { return append(tokens, false); }

std::vector<float> Session::decode_last(std::span<const int32_t> tokens) { return append(tokens, true); }

std::vector<float> Session::append(std::span<const int32_t> tokens, bool last_only) {
  require(!tokens.empty(), "decode: no tokens");
  const int64_t n_past = int64_t(tokens_.size()), n = int64_t(tokens.size());
  if (n_past + n > context_)
    throw Error("context overflow: " + std::to_string(n_past) + " tokens held + " + std::to_string(n) + " new exceed the context of " +
                std::to_string(context_));
  for (int32_t t : tokens)
    if (t < 0 || t >= vocab())
      throw Error("token id " + std::to_string(t) + " is out of range (vocabulary of " + std::to_string(vocab()) + ")");

  // The rows of the batch that output: the new tokens', or only the last one's.
  auto rows_from = [&](int64_t first, int64_t total) {
    std::vector<int32_t> rows;
    for (int64_t r = last_only ? total - 1 : first; r < total; ++r) rows.push_back(int32_t(r));
    return rows;
  };
  if (options_.use_cache) {
    const PositionPlan plan = model_.plan_positions(tokens_, tokens);
    const std::vector<int32_t> rows = rows_from(0, n);
    ForwardExtras extras = plan.extras();
    extras.outputs = rows;
    auto logits = model_.forward(*cache_, tokens, plan.positions, extras);
    tokens_.insert(tokens_.end(), tokens.begin(), tokens.end());
    return logits;
  }
  // No cache: the whole sequence again from an empty cache; only the new tokens' rows output.
  std::vector<int32_t> all = tokens_;
  all.insert(all.end(), tokens.begin(), tokens.end());
  const PositionPlan plan = model_.plan_positions({}, all);
  const std::vector<int32_t> rows = rows_from(n_past, n_past + n);
  ForwardExtras extras = plan.extras();
  extras.outputs = rows;
  cache_->truncate(0);
  auto logits = model_.forward(*cache_, all, plan.positions, extras);
  tokens_ = std::move(all);
  return logits;
}

}  // namespace vkllm
