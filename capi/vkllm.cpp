// The C API over the engine: handles own the C++ objects, every entry point catches whatever
// the engine throws and turns it into a status plus this thread's message.
#include <vkllm.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <vector>

#include "host/engine/sampler.h"
#include "host/engine/session.h"
#include "models/load.h"
#include "runtime/device.h"
#include "runtime/error.h"

struct vkllm_device {
  std::unique_ptr<vkllm::Device> device;
};

struct vkllm_model {
  vkllm_device* device;
  vkllm::LoadedModel loaded;
};

struct vkllm_sequence {
  vkllm_model* model;
  std::unique_ptr<vkllm::Session> session;
};

struct vkllm_sampler {
  vkllm::Sampler sampler;
};

namespace {

thread_local std::string last_error;

// A refusal with its own status (checked arguments, sizes).
struct ApiError {
  vkllm_status status;
  std::string message;
};

void check(bool ok, vkllm_status status, const std::string& message) {
  if (!ok) throw ApiError{status, message};
}

void check_arg(bool ok, const std::string& message) { check(ok, VKLLM_ERROR_INVALID_ARGUMENT, message); }

// Runs f; an engine Error becomes `refusal` (the kind of failure the call can have).
template <class F>
vkllm_status guarded(vkllm_status refusal, F&& f) {
  try {
    f();
    last_error.clear();
    return VKLLM_OK;
  } catch (const ApiError& e) {
    last_error = e.message;
    return e.status;
  } catch (const vkllm::DeviceError& e) {
    last_error = e.what();
    const bool memory = e.result == VK_ERROR_OUT_OF_DEVICE_MEMORY || e.result == VK_ERROR_OUT_OF_HOST_MEMORY;
    return memory ? VKLLM_ERROR_OUT_OF_MEMORY : VKLLM_ERROR_DEVICE;
  } catch (const std::bad_alloc&) {
    last_error = "out of host memory";
    return VKLLM_ERROR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    last_error = e.what();
    return refusal;
  } catch (...) {
    last_error = "unknown failure";
    return VKLLM_ERROR_FAILED;
  }
}

// A caller's options struct over the defaults: only the fields its struct_size covers.
// An enum field as the int a C caller stored: any value may arrive, and C++ must not load one
// outside the enum's range as the enum.
template <class E>
int enum_value(const E& field) {
  static_assert(sizeof(E) == sizeof(int));
  int v = 0;
  std::memcpy(&v, &field, sizeof v);
  return v;
}

template <class T>
T options_or_default(const T* given, T defaults, const char* what) {
  if (!given) return defaults;
  check_arg(given->struct_size >= sizeof(size_t), std::string(what) + ".struct_size is not set");
  std::memcpy(static_cast<void*>(&defaults), given, std::min(given->struct_size, sizeof(T)));
  defaults.struct_size = sizeof(T);
  return defaults;
}

template <class T>
void write_counted(const std::vector<T>& values, T* out, size_t capacity, size_t* count, const char* what) {
  check_arg(count != nullptr, std::string(what) + ": the count pointer is null");
  *count = values.size();
  check(values.size() <= capacity, VKLLM_ERROR_BUFFER_TOO_SMALL,
        std::string(what) + ": " + std::to_string(values.size()) + " values do not fit in " + std::to_string(capacity));
  if (!values.empty()) {
    check_arg(out != nullptr, std::string(what) + ": the output pointer is null");
    std::copy(values.begin(), values.end(), out);
  }
}

const vkllm::Tokenizer& tokenizer_of(const vkllm_model* m) {
  check_arg(m != nullptr, "the model is null");
  check(m->loaded.tokenizer.has_value(), VKLLM_ERROR_FAILED, m->loaded.model->arch() + " model has no tokenizer (a llama2.c checkpoint)");
  return *m->loaded.tokenizer;
}

vkllm::Session& session_of(const vkllm_sequence* s) {
  check_arg(s != nullptr, "the sequence is null");
  return *s->session;
}

}  // namespace

extern "C" {

void vkllm_version(int* major, int* minor, int* patch) {
  if (major) *major = VKLLM_VERSION_MAJOR;
  if (minor) *minor = VKLLM_VERSION_MINOR;
  if (patch) *patch = VKLLM_VERSION_PATCH;
}

const char* vkllm_last_error(void) { return last_error.c_str(); }

const char* vkllm_status_name(vkllm_status status) {
  switch (status) {
    case VKLLM_OK: return "VKLLM_OK";
    case VKLLM_ERROR_INVALID_ARGUMENT: return "VKLLM_ERROR_INVALID_ARGUMENT";
    case VKLLM_ERROR_BUFFER_TOO_SMALL: return "VKLLM_ERROR_BUFFER_TOO_SMALL";
    case VKLLM_ERROR_CONTEXT_OVERFLOW: return "VKLLM_ERROR_CONTEXT_OVERFLOW";
    case VKLLM_ERROR_FILE: return "VKLLM_ERROR_FILE";
    case VKLLM_ERROR_DEVICE: return "VKLLM_ERROR_DEVICE";
    case VKLLM_ERROR_OUT_OF_MEMORY: return "VKLLM_ERROR_OUT_OF_MEMORY";
    case VKLLM_ERROR_FAILED: return "VKLLM_ERROR_FAILED";
  }
  return "unknown vkllm_status";
}

// ---- Devices ----

vkllm_device_options vkllm_device_default_options(void) {
  vkllm_device_options o{};
  o.struct_size = sizeof o;
  o.device_index = -1;
  return o;
}

vkllm_status vkllm_device_count(int32_t* count) {
  return guarded(VKLLM_ERROR_DEVICE, [&] {
    check_arg(count != nullptr, "vkllm_device_count: count is null");
    vkllm::InstanceOptions plain;
    plain.validation = false;
    vkllm::Instance instance(plain);
    *count = int32_t(vkllm::enumerate_devices(instance, "").size());
  });
}

vkllm_status vkllm_device_open(const vkllm_device_options* options, vkllm_device** device) {
  return guarded(VKLLM_ERROR_DEVICE, [&] {
    check_arg(device != nullptr, "vkllm_device_open: the output handle is null");
    *device = nullptr;
    const vkllm_device_options o = options_or_default(options, vkllm_device_default_options(), "vkllm_device_options");
    check_arg(o.device_index >= -1, "vkllm_device_options.device_index must be -1 or a device's index");
    vkllm::DeviceOptions d;
    if (o.device_index >= 0) d.select = std::to_string(o.device_index);
    d.instance.validation = d.instance.validation || o.validation != 0;
    d.max_buffer_range = o.max_buffer_range;
    if (o.memory_budget) d.memory_budget = o.memory_budget;
    if (o.limits) d.limits = o.limits;
    auto handle = std::make_unique<vkllm_device>();
    handle->device = std::make_unique<vkllm::Device>(d);
    *device = handle.release();
  });
}

void vkllm_device_free(vkllm_device* device) { delete device; }

const char* vkllm_device_name(const vkllm_device* device) { return device ? device->device->info().name.c_str() : ""; }

// ---- Models ----

vkllm_status vkllm_model_load(vkllm_device* device, const char* path, vkllm_model** model) {
  return guarded(VKLLM_ERROR_FILE, [&] {
    check_arg(device != nullptr && path != nullptr && model != nullptr, "vkllm_model_load: a null argument");
    *model = nullptr;
    auto handle = std::make_unique<vkllm_model>(vkllm_model{device, vkllm::load_model(*device->device, path)});
    *model = handle.release();
  });
}

void vkllm_model_free(vkllm_model* model) { delete model; }

const char* vkllm_model_arch(const vkllm_model* m) { return m ? m->loaded.model->arch().c_str() : ""; }
int32_t vkllm_model_vocab(const vkllm_model* m) { return m ? m->loaded.model->vocab() : 0; }
int32_t vkllm_model_context(const vkllm_model* m) { return m ? m->loaded.model->context() : 0; }
int32_t vkllm_model_has_tokenizer(const vkllm_model* m) { return m && m->loaded.tokenizer ? 1 : 0; }
int32_t vkllm_token_ends_generation(const vkllm_model* m, int32_t token) {
  return m && m->loaded.tokenizer && token >= 0 && token < m->loaded.tokenizer->size() && m->loaded.tokenizer->ends_generation(token);
}
int32_t vkllm_model_is_encoder_decoder(const vkllm_model* m) { return m && m->loaded.model->encoder_decoder() ? 1 : 0; }
int32_t vkllm_model_decoder_start_token(const vkllm_model* m) { return m ? m->loaded.model->decoder_start_token() : -1; }

// ---- Tokenizer ----

vkllm_status vkllm_tokenize(const vkllm_model* model, const char* text, size_t length, int32_t add_bos, int32_t parse_special,
                            int32_t* tokens, size_t capacity, size_t* n_tokens) {
  return guarded(VKLLM_ERROR_FAILED, [&] {
    const vkllm::Tokenizer& t = tokenizer_of(model);
    check_arg(text != nullptr || length == 0, "vkllm_tokenize: text is null");
    write_counted(t.encode(std::string_view(text ? text : "", length), add_bos != 0, parse_special != 0), tokens, capacity, n_tokens,
                  "vkllm_tokenize");
  });
}

vkllm_status vkllm_detokenize(const vkllm_model* model, const int32_t* tokens, size_t n_tokens, char* text, size_t capacity,
                              size_t* length) {
  return guarded(VKLLM_ERROR_FAILED, [&] {
    const vkllm::Tokenizer& t = tokenizer_of(model);
    check_arg(tokens != nullptr || n_tokens == 0, "vkllm_detokenize: tokens is null");
    check_arg(length != nullptr, "vkllm_detokenize: the length pointer is null");
    const std::span<const int32_t> ids(tokens, n_tokens);
    for (int32_t id : ids)
      check_arg(id >= 0 && id < t.size(), "vkllm_detokenize: token id " + std::to_string(id) + " is outside the vocabulary of " +
                                              std::to_string(t.size()));
    const std::string s = t.decode(ids);
    *length = s.size();
    check(s.size() + 1 <= capacity, VKLLM_ERROR_BUFFER_TOO_SMALL,
          "vkllm_detokenize: " + std::to_string(s.size() + 1) + " bytes do not fit in " + std::to_string(capacity));
    check_arg(text != nullptr, "vkllm_detokenize: text is null");
    std::memcpy(text, s.c_str(), s.size() + 1);
  });
}

// ---- Sequences ----

vkllm_sequence_options vkllm_sequence_default_options(void) {
  vkllm_sequence_options o{};
  o.struct_size = sizeof o;
  o.kv_type = VKLLM_KV_F32;
  o.v_type = VKLLM_KV_AS_K;
  o.shift_sinks = vkllm::ContextShift{}.sinks;
  return o;
}

vkllm_status vkllm_sequence_create(vkllm_model* model, const vkllm_sequence_options* options, vkllm_sequence** sequence) {
  return guarded(VKLLM_ERROR_FAILED, [&] {
    check_arg(model != nullptr && sequence != nullptr, "vkllm_sequence_create: a null argument");
    *sequence = nullptr;
    const vkllm_sequence_options o = options_or_default(options, vkllm_sequence_default_options(), "vkllm_sequence_options");
    check_arg(o.context >= 0 && o.encoder_context >= 0, "vkllm_sequence_options: contexts must not be negative");
    constexpr vkllm::DType kTypes[] = {vkllm::DType::F32, vkllm::DType::F16, vkllm::DType::Q8_0, vkllm::DType::Q4_0};
    const int k_type = enum_value(o.kv_type), v_type = enum_value(o.v_type);
    check_arg(k_type >= VKLLM_KV_F32 && k_type <= VKLLM_KV_Q4_0, "vkllm_sequence_options.kv_type is not a vkllm_kv_type");
    check_arg(v_type >= VKLLM_KV_AS_K && v_type <= VKLLM_KV_Q4_0, "vkllm_sequence_options.v_type is not a vkllm_kv_type");
    check_arg(o.shift_sinks >= 0 && o.shift_keep >= 0, "vkllm_sequence_options: shift_sinks and shift_keep must not be negative");
    vkllm::Model& m = *model->loaded.model;
    const vkllm::SessionOptions s{
        .context = o.context,
        .encoder_context = m.encoder_decoder() ? o.encoder_context : 0,
        .kv_types = {kTypes[k_type], kTypes[v_type == VKLLM_KV_AS_K ? k_type : v_type]},
        .kv_budget = o.kv_budget,
        .context_shift = o.context_shift ? std::optional(vkllm::ContextShift{
                                               .sinks = o.shift_sinks,
                                               .keep = o.shift_keep,
                                               .positions = o.shift_in_cache ? vkllm::ContextShift::Positions::InCache
                                                                             : vkllm::ContextShift::Positions::Shift})
                                         : std::nullopt};
    *sequence = new vkllm_sequence{model, std::make_unique<vkllm::Session>(m, s)};
  });
}

void vkllm_sequence_free(vkllm_sequence* sequence) { delete sequence; }

int64_t vkllm_sequence_length(const vkllm_sequence* s) { return s ? s->session->cache().size() : 0; }
int64_t vkllm_sequence_context(const vkllm_sequence* s) { return s ? s->session->context() : 0; }

vkllm_status vkllm_sequence_positions(const vkllm_sequence* sequence, int32_t* positions, size_t capacity, size_t* count) {
  return guarded(VKLLM_ERROR_FAILED, [&] {
    const std::span<const int32_t> p = session_of(sequence).cache().positions();
    write_counted(std::vector<int32_t>(p.begin(), p.end()), positions, capacity, count, "vkllm_sequence_positions");
  });
}

vkllm_status vkllm_encode(vkllm_sequence* sequence, const int32_t* tokens, size_t n_tokens) {
  return guarded(VKLLM_ERROR_FAILED, [&] {
    vkllm::Session& s = session_of(sequence);
    check_arg(tokens != nullptr && n_tokens > 0, "vkllm_encode: no tokens");
    s.encode({tokens, n_tokens});
  });
}

vkllm_status vkllm_decode(const vkllm_batch* batch, float* logits, size_t capacity, size_t* n_outputs) {
  return guarded(VKLLM_ERROR_FAILED, [&] {
    check_arg(batch != nullptr && batch->n_tokens > 0 && batch->tokens && batch->sequences, "vkllm_decode: an empty or null batch");
    check_arg(!batch->block_positions || batch->positions, "vkllm_decode: block positions need positions");
    const size_t n = batch->n_tokens;
    // Each sequence's rows, in batch order; sequences in the order they first appear.
    std::vector<vkllm_sequence*> order;
    std::map<vkllm_sequence*, std::vector<size_t>> rows;
    for (size_t i = 0; i < n; ++i) {
      vkllm_sequence* s = batch->sequences[i];
      check_arg(s != nullptr, "vkllm_decode: row " + std::to_string(i) + " has a null sequence");
      if (rows[s].empty()) order.push_back(s);
      rows[s].push_back(i);
    }
    // Output rows, and where each one's logits go.
    std::vector<size_t> offset(n, SIZE_MAX);
    size_t outputs = 0, floats = 0;
    for (size_t i = 0; i < n; ++i) {
      const std::vector<size_t>& r = rows[batch->sequences[i]];
      if (batch->outputs ? batch->outputs[i] != 0 : r.back() == i) {
        offset[i] = floats;
        floats += size_t(batch->sequences[i]->model->loaded.model->vocab());
        ++outputs;
      }
    }
    if (n_outputs) *n_outputs = outputs;
    check(floats <= capacity, VKLLM_ERROR_BUFFER_TOO_SMALL,
          "vkllm_decode: the logits of " + std::to_string(outputs) + " rows need " + std::to_string(floats) + " floats; the buffer holds " +
              std::to_string(capacity));
    check_arg(floats == 0 || logits != nullptr, "vkllm_decode: logits is null");
    for (vkllm_sequence* s : order) {
      const vkllm::Session& session = *s->session;
      const size_t held = session.tokens().size(), added = rows[s].size();
      check(int64_t(held + added) <= session.context() || (session.context_shift() && !batch->positions), VKLLM_ERROR_CONTEXT_OVERFLOW,
            "vkllm_decode: a sequence holding " + std::to_string(held) + " tokens cannot take " + std::to_string(added) +
                " more (its context is " + std::to_string(session.context()) + ")");
    }

    // Each sequence's last row out, at its own next positions: one pass over the weights for
    // all of them (Session::decode_batch), where they share a model.
    const bool same_model = std::all_of(order.begin(), order.end(), [&](vkllm_sequence* s) { return s->model == order[0]->model; });
    if (!batch->positions && !batch->outputs && same_model) {
      std::vector<vkllm::Session*> sessions;
      std::vector<std::vector<int32_t>> tokens;
      for (vkllm_sequence* s : order) {
        sessions.push_back(s->session.get());
        tokens.emplace_back();
        for (size_t i : rows[s]) tokens.back().push_back(batch->tokens[i]);
      }
      const std::vector<std::vector<float>> got = vkllm::Session::decode_batch(sessions, tokens);
      for (size_t i = 0; i < order.size(); ++i) std::copy(got[i].begin(), got[i].end(), logits + offset[rows[order[i]].back()]);
      return;
    }
    // Otherwise one pass per sequence; a failure takes back what earlier sequences appended.
    std::vector<std::pair<vkllm::Session*, int64_t>> done;
    try {
      for (vkllm_sequence* s : order) {
        const std::vector<size_t>& r = rows[s];
        std::vector<int32_t> tokens, out;
        vkllm::PositionPlan plan;
        for (size_t j = 0; j < r.size(); ++j) {
          tokens.push_back(batch->tokens[r[j]]);
          if (batch->positions) plan.positions.push_back(batch->positions[r[j]]);
          if (batch->block_positions) plan.block_positions.push_back(batch->block_positions[r[j]]);
          if (offset[r[j]] != SIZE_MAX) out.push_back(int32_t(j));
        }
        vkllm::Session& session = *s->session;
        const std::vector<float> got = session.decode_rows(tokens, out, batch->positions ? &plan : nullptr);
        done.emplace_back(&session, int64_t(session.tokens().size() - tokens.size()));  // after any context shift
        const size_t vocab = size_t(session.vocab());
        for (size_t k = 0; k < out.size(); ++k)
          std::copy_n(got.begin() + std::ptrdiff_t(k * vocab), vocab, logits + offset[r[size_t(out[k])]]);
      }
    } catch (...) {
      for (auto& [session, before] : done) session->truncate(before);
      throw;
    }
  });
}

vkllm_status vkllm_sequence_select(vkllm_sequence* sequence, const int64_t* slots, size_t n_slots) {
  return guarded(VKLLM_ERROR_FAILED, [&] {
    check_arg(slots != nullptr || n_slots == 0, "vkllm_sequence_select: slots is null");
    session_of(sequence).select({slots, n_slots});
  });
}

vkllm_status vkllm_sequence_reposition(vkllm_sequence* sequence, int64_t first, int64_t count, int32_t delta, int32_t block_delta) {
  return guarded(VKLLM_ERROR_FAILED, [&] { session_of(sequence).cache().reposition(first, count, delta, block_delta); });
}

vkllm_status vkllm_sequence_truncate(vkllm_sequence* sequence, int64_t n) {
  return guarded(VKLLM_ERROR_FAILED, [&] { session_of(sequence).truncate(n); });
}

vkllm_status vkllm_sequence_clear(vkllm_sequence* sequence) {
  return guarded(VKLLM_ERROR_FAILED, [&] { session_of(sequence).clear(); });
}

vkllm_status vkllm_sequence_fork(const vkllm_sequence* sequence, vkllm_sequence** copy) {
  return guarded(VKLLM_ERROR_FAILED, [&] {
    check_arg(copy != nullptr, "vkllm_sequence_fork: the output handle is null");
    *copy = nullptr;
    std::unique_ptr<vkllm::Session> forked = session_of(sequence).fork();
    *copy = new vkllm_sequence{sequence->model, std::move(forked)};
  });
}

vkllm_status vkllm_sequence_copy(const vkllm_sequence* src, vkllm_sequence* dst) {
  return guarded(VKLLM_ERROR_FAILED, [&] { session_of(src).copy_to(session_of(dst)); });
}

vkllm_status vkllm_sequence_save(const vkllm_sequence* sequence, const char* path) {
  return guarded(VKLLM_ERROR_FILE, [&] {
    check_arg(path != nullptr, "vkllm_sequence_save: path is null");
    session_of(sequence).save(path);
  });
}

vkllm_status vkllm_sequence_load(vkllm_sequence* sequence, const char* path) {
  return guarded(VKLLM_ERROR_FILE, [&] {
    check_arg(path != nullptr, "vkllm_sequence_load: path is null");
    session_of(sequence).load(path);
  });
}

// ---- Samplers ----

vkllm_sampler_options vkllm_sampler_default_options(void) {
  const vkllm::SamplerOptions d;
  vkllm_sampler_options o{};
  o.struct_size = sizeof o;
  o.temperature = d.temperature;
  o.top_k = d.top_k;
  o.top_p = d.top_p;
  o.min_p = d.min_p;
  o.repeat_penalty = d.repeat_penalty;
  o.frequency_penalty = d.frequency_penalty;
  o.presence_penalty = d.presence_penalty;
  o.penalty_last_n = d.penalty_last_n;
  o.seed = d.seed;
  o.gumbel = d.gumbel;
  return o;
}

vkllm_status vkllm_sampler_create(const vkllm_sampler_options* options, vkllm_sampler** sampler) {
  return guarded(VKLLM_ERROR_FAILED, [&] {
    check_arg(sampler != nullptr, "vkllm_sampler_create: the output handle is null");
    *sampler = nullptr;
    const vkllm_sampler_options o = options_or_default(options, vkllm_sampler_default_options(), "vkllm_sampler_options");
    const vkllm::SamplerOptions s{.temperature = o.temperature,
                                  .top_k = o.top_k,
                                  .top_p = o.top_p,
                                  .min_p = o.min_p,
                                  .repeat_penalty = o.repeat_penalty,
                                  .frequency_penalty = o.frequency_penalty,
                                  .presence_penalty = o.presence_penalty,
                                  .penalty_last_n = o.penalty_last_n,
                                  .seed = o.seed,
                                  .gumbel = o.gumbel != 0};
    *sampler = new vkllm_sampler{vkllm::Sampler(s)};
  });
}

void vkllm_sampler_free(vkllm_sampler* sampler) { delete sampler; }

vkllm_status vkllm_sampler_accept(vkllm_sampler* sampler, int32_t token) {
  return guarded(VKLLM_ERROR_FAILED, [&] {
    check_arg(sampler != nullptr, "vkllm_sampler_accept: the sampler is null");
    sampler->sampler.accept(token);
  });
}

vkllm_status vkllm_sampler_sample(vkllm_sampler* sampler, const float* logits, int32_t n_vocab, int32_t* token) {
  return guarded(VKLLM_ERROR_FAILED, [&] {
    check_arg(sampler != nullptr && logits != nullptr && token != nullptr && n_vocab > 0, "vkllm_sampler_sample: a null argument or no logits");
    *token = sampler->sampler.sample({logits, size_t(n_vocab)});
  });
}

}  // extern "C"
