#include "host/engine/session.h"

#include "runtime/error.h"
#include "runtime/kv_cache_file.h"

namespace vkllm {

Session::Session(Model& model, SessionOptions options)
    : model_(model), options_(options), context_(options.context > 0 ? options.context : model.context()) {
  require(context_ <= model.context(),
          "session context " + std::to_string(context_) + " exceeds the model's context of " + std::to_string(model.context()));
  cache_ = std::make_unique<KvCache>(model.device(), model.cache_config(context_, options.encoder_context, options.kv_type));
}

void Session::clear() {
  cache_->clear();
  tokens_.clear();
  encoder_tokens_.clear();
}

void Session::truncate(int64_t n) {
  require(n >= 0 && n <= int64_t(tokens_.size()),
          "session: cannot keep " + std::to_string(n) + " tokens of " + std::to_string(tokens_.size()));
  if (options_.use_cache) {
    require(cache_->size() == int64_t(tokens_.size()), "session: the cache no longer holds one entry per token; truncate the cache itself");
    cache_->truncate(n);
  }
  tokens_.resize(size_t(n));
}

void Session::save(const std::string& path) const {
  require(options_.use_cache, "session: without the cache there is no state to save");
  save_cache_file(path, *cache_, {model_.fingerprint(), tokens_, encoder_tokens_});
}

void Session::load(const std::string& path) {
  require(options_.use_cache, "session: without the cache there is no state to load into");
  CacheFileRecord r = load_cache_file(path, *cache_, model_.fingerprint());
  tokens_ = std::move(r.tokens);
  encoder_tokens_ = std::move(r.encoder_tokens);
}

void Session::encode(std::span<const int32_t> tokens) {
  model_.encode(*cache_, tokens);
  cache_->truncate(0);
  tokens_.clear();
  encoder_tokens_.assign(tokens.begin(), tokens.end());
}

std::vector<float> Session::decode(std::span<const int32_t> tokens) { return append(tokens, false); }

std::vector<float> Session::decode_last(std::span<const int32_t> tokens) { return append(tokens, true); }

std::vector<float> Session::append(std::span<const int32_t> tokens, bool last_only) {
  require(!tokens.empty(), "decode: no tokens");
  const int64_t n_past = int64_t(tokens_.size()), n = int64_t(tokens.size());
  if (n_past + n > context_)
    throw Error("context overflow: " + std::to_string(n_past) + " tokens held + " + std::to_string(n) + " new exceed the context of " +
                std::to_string(context_));
  model_.check_tokens(tokens);  // before the no-cache path rebuilds anything

  // With the cache the batch is the new tokens; without it, the whole sequence again from an
  // empty cache. Either way only the new tokens' rows (or the last one's) output.
  std::vector<int32_t> all;
  std::span<const int32_t> held = tokens_, batch = tokens;
  if (!options_.use_cache) {
    all = tokens_;
    all.insert(all.end(), tokens.begin(), tokens.end());
    held = {};
    batch = all;
    cache_->truncate(0);
    if (!encoder_tokens_.empty()) model_.encode(*cache_, encoder_tokens_);
  }
  const int64_t end = int64_t(batch.size());
  std::vector<int32_t> rows;
  for (int64_t r = last_only ? end - 1 : end - n; r < end; ++r) rows.push_back(int32_t(r));
  const PositionPlan plan = model_.plan_positions(held, batch);
  ForwardExtras extras = plan.extras();
  extras.outputs = rows;
  auto logits = model_.forward(*cache_, batch, plan.positions, extras);
  tokens_.insert(tokens_.end(), tokens.begin(), tokens.end());
  return logits;
}

}  // namespace vkllm
