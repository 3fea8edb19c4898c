#pragma once
// Many generations over one model: a worker thread owns a fixed set of slots (a session each)
// and, every step, admits waiting jobs into idle slots, then advances every busy slot by one
// token (sample, stream the text, decode the token), so that concurrent requests progress
// together and a new one starts without waiting for the others to finish. Each job has its own
// sampler, budget and stop strings (Generation). A cancelled job frees its slot at the next step.
//
// Prefix reuse: a slot keeps its cache after its job ends. A new job takes the idle slot whose
// tokens share the longest prefix with its prompt and computes only the rest; where the longest
// prefix sits in a busy slot, that slot's cache is copied into an idle one (a fork). Memory is
// the slots' caches, fixed at start; an idle slot that shares nothing is reused least recently
// used first.
//
// A step decodes every busy slot's tokens (new prompts' uncached parts and the tokens just
// sampled) in one pass over the weights where the model batches sequences
// (Model::batches_sequences: Llama/Qwen2, Gemma, GPT-2), else one pass per slot.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "host/engine/generate.h"
#include "host/engine/session.h"
#include "runtime/error.h"

namespace vkllm {

struct SchedulerOptions {
  int parallel = 4;        // slots: sequences decoded at once
  int64_t context = 0;     // tokens per slot; 0: the model's context
  int max_queued = 32;     // jobs waiting for a slot beyond which submit() refuses more
  bool prefix_reuse = true;
  KvTypes kv_types;  // the K and V rows' storage types
};

struct Job {
  std::vector<int32_t> prompt;
  GenerateOptions options;
};

// What the worker sends a job, in order: steps, then one final event.
struct JobEvent {
  std::string text;
  std::optional<TokenLogprob> logprob;
  bool end = false;
  GenerateResult::Stop stop = GenerateResult::Stop::MaxTokens;
  int64_t prompt_tokens = 0, cached_tokens = 0, completion_tokens = 0;
  std::string error;  // the job failed (end is set)
};

class JobStream {
 public:
  // Blocks until the next event.
  JobEvent next();
  // The client is gone: the worker frees the job's slot at its next step.
  void cancel() { cancelled_ = true; }
  bool cancelled() const { return cancelled_; }
  void push(JobEvent e);

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<JobEvent> events_;
  std::atomic<bool> cancelled_{false};
};

// A refusal submit() makes before any work: the prompt does not fit, or the queue is full.
struct JobRefused : Error {
  enum class Why { TooLong, Busy } why;
  JobRefused(Why w, const std::string& what) : Error(what), why(w) {}
};

class Scheduler {
 public:
  Scheduler(Model& model, const Tokenizer* tokenizer, SchedulerOptions options);
  ~Scheduler();  // stops the worker; jobs still running end with an error event
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  std::shared_ptr<JobStream> submit(Job job);

  int64_t context() const { return context_; }
  int parallel() const { return int(slots_.size()); }
  // The slots' K/V: their storage types, bytes per token, and bytes allocated for all of them.
  struct KvMemory {
    KvTypes types;
    uint64_t bytes_per_token = 0, bytes_allocated = 0;
  };
  const KvMemory& kv_memory() const { return kv_memory_; }
  struct Load {
    int busy = 0, queued = 0;
    uint64_t kv_bytes_in_use = 0;  // the entries all slots hold (idle ones keep their prefixes), as of the last step
  };
  Load load() const;

 private:
  struct Pending {
    Job job;
    std::shared_ptr<JobStream> stream;
  };
  struct Slot {
    std::unique_ptr<Session> session;
    std::shared_ptr<JobStream> stream;  // null: idle
    std::optional<Generation> generation;
    std::vector<float> logits;
    std::vector<int32_t> feed;  // tokens this step decodes: the prompt's uncached rest, or the sampled token
    int64_t prompt_tokens = 0, cached_tokens = 0;
    uint64_t last_used = 0;
  };

  void run();
  void start(Slot& slot, Pending p, size_t common);  // common: the slot's prefix shared with the prompt
  void advance(Slot& slot);
  void decode_fed();
  void finish(Slot& slot, JobEvent end);
  Slot* idle_slot_for(const std::vector<int32_t>& prompt, size_t& common);

  Model& model_;
  const Tokenizer* tokenizer_;
  SchedulerOptions options_;
  int64_t context_;
  std::vector<Slot> slots_;  // the worker's alone
  uint64_t clock_ = 0;
  KvMemory kv_memory_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Pending> pending_;
  int busy_ = 0;
  uint64_t kv_bytes_in_use_ = 0;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace vkllm
