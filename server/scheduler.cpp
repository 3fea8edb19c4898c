#include "server/scheduler.h"

#include <algorithm>

#include "runtime/error.h"

namespace vkllm {

namespace {

size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

}  // namespace

JobEvent JobStream::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  ready_.wait(lock, [&] { return !events_.empty(); });
  JobEvent e = std::move(events_.front());
  events_.pop_front();
  return e;
}

void JobStream::push(JobEvent e) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    events_.push_back(std::move(e));
  }
  ready_.notify_one();
}

Scheduler::Scheduler(Model& model, const Tokenizer* tokenizer, SchedulerOptions options)
    : model_(model), tokenizer_(tokenizer), options_(options), context_(options.context > 0 ? options.context : model.context()) {
  require(options_.parallel >= 1, "server: --parallel must be at least 1");
  require(options_.max_queued >= 0, "server: the queue length must not be negative");
  require(context_ <= model.context(), "server: a context of " + std::to_string(context_) + " exceeds the model's " + std::to_string(model.context()));
  require(!model.encoder_decoder(), "server: " + model.arch() + " is an encoder-decoder model; the server runs decoder-only models");
  for (int i = 0; i < options_.parallel; ++i) {
    Slot s;
    s.session = std::make_unique<Session>(model, SessionOptions{.context = context_, .kv_types = options_.kv_types});
    slots_.push_back(std::move(s));
  }
  const KvCache& cache = slots_[0].session->cache();
  kv_memory_ = {cache.config().types, cache.bytes_per_entry(), cache.bytes_per_entry() * uint64_t(context_) * slots_.size()};
  worker_ = std::thread([this] { run(); });
}

Scheduler::~Scheduler() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  worker_.join();
  JobEvent stopped{.end = true, .error = "the server is shutting down"};
  for (Slot& s : slots_)
    if (s.stream) s.stream->push(stopped);
  for (Pending& p : pending_) p.stream->push(stopped);
}

std::shared_ptr<JobStream> Scheduler::submit(Job job) {
  require(!job.prompt.empty(), "the prompt has no tokens");
  model_.check_tokens(job.prompt);
  const int64_t needed = int64_t(job.prompt.size()) + job.options.max_tokens;
  if (needed > context_)
    throw JobRefused(JobRefused::Why::TooLong, "the prompt's " + std::to_string(job.prompt.size()) + " tokens + " +
                                                   std::to_string(job.options.max_tokens) + " to generate exceed the context of " +
                                                   std::to_string(context_) + " tokens");
  auto stream = std::make_shared<JobStream>();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (int(pending_.size()) >= options_.max_queued && busy_ >= int(slots_.size()))
      throw JobRefused(JobRefused::Why::Busy, "all " + std::to_string(slots_.size()) + " slots are busy and " +
                                                  std::to_string(pending_.size()) + " requests wait; try again later");
    pending_.push_back({std::move(job), stream});
  }
  wake_.notify_one();
  return stream;
}

Scheduler::Load Scheduler::load() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return {busy_, int(pending_.size()), kv_bytes_in_use_};
}

void Scheduler::run() {
  for (;;) {
    std::vector<Pending> admitted;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || busy_ > 0 || !pending_.empty(); });
      if (stopping_) return;
      while (!pending_.empty() && busy_ < int(slots_.size())) {
        admitted.push_back(std::move(pending_.front()));
        pending_.pop_front();
        ++busy_;
      }
    }
    for (Pending& p : admitted) {
      size_t common = 0;
      Slot& slot = *idle_slot_for(p.job.prompt, common);  // before p moves
      start(slot, std::move(p), common);
    }
    for (Slot& s : slots_)
      if (s.stream && s.feed.empty()) advance(s);  // slots just started have no logits yet
    decode_fed();
    uint64_t in_use = 0;
    for (const Slot& s : slots_) in_use += s.session->cache().bytes_in_use();
    std::lock_guard<std::mutex> lock(mutex_);
    kv_bytes_in_use_ = in_use;
  }
}

void Scheduler::decode_fed() {
  std::vector<Slot*> fed;
  std::vector<Session*> sessions;
  std::vector<std::vector<int32_t>> tokens;
  for (Slot& s : slots_)
    if (s.stream && !s.feed.empty()) {
      fed.push_back(&s);
      sessions.push_back(s.session.get());
      tokens.push_back(std::move(s.feed));
      s.feed.clear();
    }
  if (fed.empty()) return;
  try {
    std::vector<std::vector<float>> logits = Session::decode_batch(sessions, tokens);
    for (size_t i = 0; i < fed.size(); ++i) fed[i]->logits = std::move(logits[i]);
    return;
  } catch (const std::exception&) {
    // The batch changed nothing: decode each alone, so that one slot's failure ends it alone.
  }
  for (size_t i = 0; i < fed.size(); ++i) {
    try {
      fed[i]->logits = fed[i]->session->decode_last(tokens[i]);
    } catch (const std::exception& e) {
      fed[i]->session->clear();
      finish(*fed[i], {.end = true, .error = e.what()});
    }
  }
}

// The idle slot sharing the longest prefix with `prompt` (the least recently used where none
// shares any); `common` receives that prefix's length.
Scheduler::Slot* Scheduler::idle_slot_for(const std::vector<int32_t>& prompt, size_t& common) {
  Slot* best = nullptr;
  common = 0;
  for (Slot& s : slots_) {
    if (s.stream) continue;
    const size_t n = options_.prefix_reuse ? common_prefix(s.session->tokens(), prompt) : 0;
    if (!best || n > common || (n == common && s.last_used < best->last_used)) {
      best = &s;
      common = n;
    }
  }
  return best;
}

void Scheduler::start(Slot& slot, Pending p, size_t common) {
  const std::vector<int32_t>& prompt = p.job.prompt;
  slot.stream = std::move(p.stream);
  slot.prompt_tokens = int64_t(prompt.size());
  slot.cached_tokens = 0;
  if (slot.stream->cancelled()) {  // the client left while the job waited
    finish(slot, {.end = true, .error = "cancelled"});
    return;
  }
  try {
    // A longer prefix in a busy slot: fork its cache into this one.
    if (options_.prefix_reuse)
      for (Slot& other : slots_)
        if (&other != &slot && other.stream && other.generation) {
          const size_t n = common_prefix(other.session->tokens(), prompt);
          if (n > common) {
            other.session->copy_to(*slot.session);
            common = n;
          }
        }
    // The last prompt token is decoded again: its logits start the generation.
    const size_t reused = std::min(common, prompt.size() - 1);
    slot.session->truncate(int64_t(reused));
    slot.generation.emplace(tokenizer_, prompt, p.job.options);
    slot.cached_tokens = int64_t(reused);
    slot.feed.assign(prompt.begin() + std::ptrdiff_t(reused), prompt.end());  // decoded with the step's batch
  } catch (const std::exception& e) {
    slot.session->clear();
    finish(slot, {.end = true, .error = e.what()});
    return;
  }
  if (slot.generation->done()) {
    slot.feed.clear();
    finish(slot, {.end = true, .stop = slot.generation->stop()});
  }
}

void Scheduler::advance(Slot& slot) {
  if (slot.stream->cancelled()) {
    finish(slot, {.end = true, .error = "cancelled"});
    return;
  }
  try {
    Generation::Step step = slot.generation->next(slot.logits);
    if (!step.text.empty() || step.logprob) slot.stream->push({.text = std::move(step.text), .logprob = std::move(step.logprob)});
    if (step.done) {
      finish(slot, {.end = true, .stop = slot.generation->stop()});
      return;
    }
    slot.feed = {step.token};
  } catch (const std::exception& e) {
    slot.session->clear();
    finish(slot, {.end = true, .error = e.what()});
  }
}

void Scheduler::finish(Slot& slot, JobEvent end) {
  slot.feed.clear();
  end.prompt_tokens = slot.prompt_tokens;
  end.cached_tokens = slot.cached_tokens;
  end.completion_tokens = slot.generation ? int64_t(slot.generation->tokens().size()) : 0;
  slot.stream->push(std::move(end));
  slot.stream.reset();
  slot.generation.reset();
  slot.last_used = ++clock_;
  std::lock_guard<std::mutex> lock(mutex_);
  --busy_;
}

}  // namespace vkllm
