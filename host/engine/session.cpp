#include "host/engine/session.h"

#include <algorithm>

#include "runtime/error.h"
#include "runtime/kv_cache_file.h"

namespace vkllm {

Session::Session(Model& model, SessionOptions options)
    : model_(model), options_(options), context_(options.context > 0 ? options.context : model.context()) {
  require(context_ <= model.context(),
          "session context " + std::to_string(context_) + " exceeds the model's context of " + std::to_string(model.context()));
  KvCacheConfig config = model.cache_config(context_, options.encoder_context, options.kv_types);
  if (options_.context_shift) {
    require(config.rope && !model.prefix_lm() && config.rope->pairing != RopePairing::Glm2D,
            "context shift: " + model.arch() + " has no rotary embeddings to re-rotate, or attends to its prompt both ways");
    require(options_.use_cache, "context shift: needs the KV cache");
  }
  if (options_.kv_budget > 0) {
    const uint64_t per_entry = KvCache::entry_bytes(model.device(), config, options_.context_shift.has_value());
    const int64_t fits = int64_t(std::min<uint64_t>(options_.kv_budget / per_entry, uint64_t(context_)));
    if (fits < 2 + (options_.context_shift ? options_.context_shift->sinks : 0))
      throw Error("a K/V budget of " + human_bytes(options_.kv_budget) + " holds " + std::to_string(fits) + " entries of " +
                  human_bytes(per_entry) + ": too few to run");
    context_ = config.capacity = fits;
  }
  if (options_.context_shift && options_.context_shift->sinks >= context_)
    throw Error("context shift: " + std::to_string(options_.context_shift->sinks) + " attention sinks leave no room in a context of " +
                std::to_string(context_));
  cache_ = std::make_unique<KvCache>(model.device(), config);
}

void Session::make_room(int64_t n, bool may_shift, bool apply) {
  const int64_t held = int64_t(tokens_.size());
  if (held + n <= context_) return;
  if (!options_.context_shift || !may_shift)
    throw Error("context overflow: " + std::to_string(held) + " tokens held + " + std::to_string(n) + " new exceed the context of " +
                std::to_string(context_) + (options_.kv_budget > 0 ? " (what the K/V budget holds)" : ""));
  require_tokens_in_step("a context shift");
  const ContextShift& shift = *options_.context_shift;
  const std::vector<int64_t> kept = shift.kept_slots(held, n, context_);
  if (!apply) return;
  select(kept);
  shift.reposition(*cache_, held - int64_t(kept.size()));
  shifted_ += held - int64_t(kept.size());
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
    require_tokens_in_step("truncate");
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

std::vector<float> Session::decode(std::span<const int32_t> tokens) {
  std::vector<int32_t> rows(tokens.size());
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = int32_t(i);
  return decode_rows(tokens, rows);
}

std::vector<float> Session::decode_last(std::span<const int32_t> tokens) {
  const int32_t last = int32_t(tokens.size()) - 1;
  return decode_rows(tokens, {&last, tokens.empty() ? 0u : 1u});
}

std::vector<float> Session::decode_rows(std::span<const int32_t> tokens, std::span<const int32_t> outputs, const PositionPlan* plan) {
  require(!tokens.empty(), "decode: no tokens");
  const int64_t n = int64_t(tokens.size());
  model_.check_tokens(tokens);  // before the no-cache path rebuilds anything
  for (int32_t r : outputs)
    require(r >= 0 && r < n, "decode: output row " + std::to_string(r) + " is outside the batch of " + std::to_string(n) + " tokens");
  require(!plan || options_.use_cache, "decode: explicit positions need the KV cache");
  require(!plan || int64_t(plan->positions.size()) == n,
          "decode: " + std::to_string(plan ? plan->positions.size() : 0) + " positions for " + std::to_string(n) + " tokens");
  make_room(n, !plan && options_.use_cache, true);  // the last check: a context shift changes the session

  // With the cache the batch is the new tokens; without it, the whole sequence again from an
  // empty cache. Either way only the requested rows of the new tokens output.
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
  const int32_t skipped = int32_t(batch.size()) - int32_t(n);
  std::vector<int32_t> rows(outputs.begin(), outputs.end());
  for (int32_t& r : rows) r += skipped;
  const PositionPlan planned = plan ? PositionPlan{} : model_.plan_positions(held, batch);
  const PositionPlan& p = plan ? *plan : planned;
  ForwardExtras extras = p.extras();
  extras.outputs = rows;
  auto logits = model_.forward(*cache_, batch, p.positions, extras);
  tokens_.insert(tokens_.end(), tokens.begin(), tokens.end());
  return logits;
}

std::vector<std::vector<float>> Session::decode_batch(std::span<Session* const> sessions, std::span<const std::vector<int32_t>> tokens) {
  require(sessions.size() == tokens.size(), "decode_batch: one token list per session");
  std::vector<std::vector<float>> out;
  if (sessions.empty()) return out;
  Model& model = sessions[0]->model_;
  if (sessions.size() == 1 || !model.batches_sequences()) {
    try {
      for (size_t i = 0; i < sessions.size(); ++i) out.push_back(sessions[i]->decode_last(tokens[i]));
    } catch (...) {
      // The failed one changed nothing; the others lose what they appended (a context shift
      // they made stays: it left a whole session).
      for (size_t i = 0; i < out.size(); ++i) sessions[i]->truncate(int64_t(sessions[i]->tokens_.size() - tokens[i].size()));
      throw;
    }
    return out;
  }
  std::vector<PositionPlan> plans;
  std::vector<SequenceRows> rows;
  for (size_t i = 0; i < sessions.size(); ++i) {
    Session& s = *sessions[i];
    require(&s.model_ == &model, "decode_batch: the sessions of a batch share one model");
    require(s.options_.use_cache, "decode_batch: sessions need the KV cache");
    require(!tokens[i].empty(), "decode: no tokens");
    model.check_tokens(tokens[i]);
    s.make_room(int64_t(tokens[i].size()), true, false);
  }
  for (size_t i = 0; i < sessions.size(); ++i) {  // every check passed: the shifts, then the batch
    sessions[i]->make_room(int64_t(tokens[i].size()), true, true);
    plans.push_back(model.plan_positions(sessions[i]->tokens_, tokens[i]));
  }
  for (size_t i = 0; i < sessions.size(); ++i) rows.push_back({sessions[i]->cache_.get(), tokens[i], plans[i].positions});
  const std::vector<float> logits = model.forward_batch(rows);
  const size_t vocab = size_t(model.vocab());
  for (size_t i = 0; i < sessions.size(); ++i) {
    sessions[i]->tokens_.insert(sessions[i]->tokens_.end(), tokens[i].begin(), tokens[i].end());
    out.emplace_back(logits.begin() + std::ptrdiff_t(i * vocab), logits.begin() + std::ptrdiff_t((i + 1) * vocab));
  }
  return out;
}

void Session::require_tokens_in_step(const char* what) const {
  require(options_.use_cache, std::string("session: ") + what + " needs the KV cache");
  require(cache_->size() == int64_t(tokens_.size()),
          std::string("session: ") + what + " needs one cache entry per token; the cache was changed directly (change it there)");
}

void Session::select(std::span<const int64_t> slots) {
  require_tokens_in_step("select");
  std::vector<int32_t> kept;
  for (int64_t s : slots)
    if (s >= 0 && s < int64_t(tokens_.size())) kept.push_back(tokens_[size_t(s)]);
  cache_->select(slots);  // refuses slots outside the cache, changing nothing
  tokens_ = std::move(kept);
}

std::unique_ptr<Session> Session::fork() const {
  auto copy = std::make_unique<Session>(model_, options_);
  copy_to(*copy);
  return copy;
}

void Session::copy_to(Session& dst) const {
  require(&dst.model_ == &model_, "session: copy needs a session of the same model");
  require(options_.use_cache && dst.options_.use_cache, "session: copy needs the KV cache in both sessions");
  require(int64_t(tokens_.size()) <= dst.context_, "session: the copy's " + std::to_string(tokens_.size()) +
                                                       " tokens exceed the destination's context of " + std::to_string(dst.context_));
  cache_->copy_to(*dst.cache_);
  dst.tokens_ = tokens_;
  dst.encoder_tokens_ = encoder_tokens_;
}

}  // namespace vkllm
