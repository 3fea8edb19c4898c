/*
 * vkllm: LLM inference on any Vulkan device. The C API (C99), stable within a major version:
 * functions are only added, options structs only grow at their end (each starts with its own
 * size, so an older caller's smaller struct keeps working), and enum values keep their numbers.
 *
 * Objects and ownership. Every object is an opaque handle created by a function that returns
 * a vkllm_status and writes the handle to its last argument; the caller frees it with the
 * matching _free function, children before parents: sequences and samplers before nothing
 * else, sequences before their model, models before their device. _free(NULL) does nothing.
 *
 * Errors. A function that can fail returns a vkllm_status; on failure vkllm_last_error()
 * gives a message naming the problem (valid on this thread until its next vkllm call). No C++
 * exception crosses this boundary, and a failed call leaves its objects as they were.
 *
 * Threads. Calls on different devices are independent. Objects of one device (its models,
 * their sequences) must be used by one thread at a time: serialize calls that share a device.
 * Samplers are independent of devices; a sampler is used by one thread at a time.
 * vkllm_last_error() is per thread.
 */
#ifndef VKLLM_H
#define VKLLM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VKLLM_VERSION_MAJOR 0
#define VKLLM_VERSION_MINOR 1
#define VKLLM_VERSION_PATCH 0

typedef enum vkllm_status {
  VKLLM_OK = 0,
  VKLLM_ERROR_INVALID_ARGUMENT = 1, /* a null pointer, a size or index out of range, a bad option */
  VKLLM_ERROR_BUFFER_TOO_SMALL = 2, /* the output did not fit: the needed size was written */
  VKLLM_ERROR_CONTEXT_OVERFLOW = 3, /* more tokens than the sequence has room for */
  VKLLM_ERROR_FILE = 4,             /* a model or cache file that cannot be read or is invalid */
  VKLLM_ERROR_DEVICE = 5,           /* no usable Vulkan device, or the device failed */
  VKLLM_ERROR_OUT_OF_MEMORY = 6,
  VKLLM_ERROR_FAILED = 7            /* any other refusal; the message says why */
} vkllm_status;

typedef struct vkllm_device vkllm_device;
typedef struct vkllm_model vkllm_model;
typedef struct vkllm_sequence vkllm_sequence;
typedef struct vkllm_sampler vkllm_sampler;

/* The library's version (may be newer than the header's VKLLM_VERSION_*). */
void vkllm_version(int* major, int* minor, int* patch);
/* The message of this thread's last failed call ("" when none failed). */
const char* vkllm_last_error(void);
/* "VKLLM_OK", "VKLLM_ERROR_FILE", ... */
const char* vkllm_status_name(vkllm_status status);

/* ---- Devices ---- */

typedef struct vkllm_device_options {
  size_t struct_size;   /* sizeof(vkllm_device_options) */
  int32_t device_index; /* among vkllm_device_count()'s devices; -1: the best one (a discrete GPU first) */
  int32_t validation;   /* nonzero: enable VK_LAYER_KHRONOS_validation (development) */
  uint64_t max_buffer_range; /* nonzero: treat storage buffers as no larger than this (bytes) */
  uint64_t memory_budget;    /* nonzero: the most device memory vkllm may hold (bytes); past it,
                                VKLLM_ERROR_OUT_OF_MEMORY. 0: VKLLM_MEMORY_BUDGET, else none */
  const char* limits;        /* "mobile": lower the device's features and limits to the weakest
                                supported phones'; NULL: VKLLM_LIMITS, else the device's own */
} vkllm_device_options;

/* Options with every default filled in. */
vkllm_device_options vkllm_device_default_options(void);
/* The number of Vulkan devices vkllm can use. */
vkllm_status vkllm_device_count(int32_t* count);
/* options may be NULL (defaults). */
vkllm_status vkllm_device_open(const vkllm_device_options* options, vkllm_device** device);
void vkllm_device_free(vkllm_device* device);
/* The device's name, valid while the device lives. */
const char* vkllm_device_name(const vkllm_device* device);

/* ---- Models ---- */

/* Loads a GGUF file, a Hugging Face directory (config.json + safetensors) or a llama2.c
 * checkpoint. The model keeps a reference to its device. */
vkllm_status vkllm_model_load(vkllm_device* device, const char* path, vkllm_model** model);
void vkllm_model_free(vkllm_model* model);
const char* vkllm_model_arch(const vkllm_model* model); /* "llama", "gemma3", "t5", ... */
int32_t vkllm_model_vocab(const vkllm_model* model);
int32_t vkllm_model_context(const vkllm_model* model); /* positions the model supports */
/* Whether the model has a tokenizer (llama2.c checkpoints have none). */
int32_t vkllm_model_has_tokenizer(const vkllm_model* model);
/* Whether generation ends at this token (EOS, <|im_end|>, <end_of_turn>, ...). */
int32_t vkllm_token_ends_generation(const vkllm_model* model, int32_t token);

/* Encoder-decoder models (T5, BART, T5Gemma): nonzero, and the token their decoder starts from. */
int32_t vkllm_model_is_encoder_decoder(const vkllm_model* model);
int32_t vkllm_model_decoder_start_token(const vkllm_model* model);

/* ---- Tokenizer ---- */

/* Text (length bytes of UTF-8) to ids. add_bos: the model's begin token where it uses one;
 * parse_special: control tokens written in the text (<|im_start|>) become their ids. Writes
 * the count to *n_tokens; when it exceeds capacity, returns VKLLM_ERROR_BUFFER_TOO_SMALL
 * (tokens may be NULL with capacity 0 to ask for the count). */
vkllm_status vkllm_tokenize(const vkllm_model* model, const char* text, size_t length, int32_t add_bos, int32_t parse_special,
                            int32_t* tokens, size_t capacity, size_t* n_tokens);
/* Ids to text, NUL-terminated; *length receives the byte count without the NUL. When
 * length + 1 exceeds capacity, returns VKLLM_ERROR_BUFFER_TOO_SMALL. */
vkllm_status vkllm_detokenize(const vkllm_model* model, const int32_t* tokens, size_t n_tokens, char* text, size_t capacity,
                              size_t* length);

/* ---- Sequences: one KV cache each ---- */

/* How cached K and V rows are stored. F16 where the device stores 16-bit values, else F32;
 * Q8_0 and Q4_0 (blocks of 32 values with an f16 scale; 8.5 and 4.5 bits a value) need the
 * model's kv heads x head_dim to be a multiple of 32. VKLLM_KV_AS_K: V takes K's type. */
typedef enum vkllm_kv_type {
  VKLLM_KV_AS_K = -1,
  VKLLM_KV_F32 = 0,
  VKLLM_KV_F16 = 1,
  VKLLM_KV_Q8_0 = 2,
  VKLLM_KV_Q4_0 = 3
} vkllm_kv_type;

typedef struct vkllm_sequence_options {
  size_t struct_size;      /* sizeof(vkllm_sequence_options) */
  int64_t context;         /* tokens the sequence may hold; 0: the model's context */
  int64_t encoder_context; /* encoder-decoder models: the longest encoder input; 0: the model's */
  vkllm_kv_type kv_type;   /* K's storage type, and V's unless v_type says otherwise (default F32) */
  vkllm_kv_type v_type;    /* V's storage type; default VKLLM_KV_AS_K */
  uint64_t kv_budget;      /* bytes the cache may take; 0: no limit. Lowers the context to what fits */
  /* Context shift: nonzero context_shift makes a decode past the context drop entries first:
   * the first shift_sinks (default 4) and the most recent shift_keep (0: half of the rest)
   * stay, and moved keys are re-rotated; positions continue as llama.cpp's context shift, or
   * with shift_in_cache nonzero as StreamingLLM's (positions within the cache). A decode that
   * fails after its sequence shifted leaves the shift (a whole state), not the appended rows. */
  int32_t context_shift;
  int32_t shift_in_cache;
  int64_t shift_sinks;
  int64_t shift_keep;
} vkllm_sequence_options;

vkllm_sequence_options vkllm_sequence_default_options(void);
/* options may be NULL (defaults). */
vkllm_status vkllm_sequence_create(vkllm_model* model, const vkllm_sequence_options* options, vkllm_sequence** sequence);
void vkllm_sequence_free(vkllm_sequence* sequence);
/* Cache entries held (one per decoded token until select changes them). */
int64_t vkllm_sequence_length(const vkllm_sequence* sequence);
int64_t vkllm_sequence_context(const vkllm_sequence* sequence);
/* The entries' positions, in slot order: *count receives the length (BUFFER_TOO_SMALL as above). */
vkllm_status vkllm_sequence_positions(const vkllm_sequence* sequence, int32_t* positions, size_t capacity, size_t* count);

/* Encoder-decoder models: runs the encoder over the input and empties the decoder. */
vkllm_status vkllm_encode(vkllm_sequence* sequence, const int32_t* tokens, size_t n_tokens);

/* A batch: n_tokens rows, each a token of one sequence. A sequence's rows are appended to it in
 * batch order. positions NULL: each sequence's next positions (the model's own placement after
 * the tokens it holds); give them after select or reposition, where the next index is not the
 * next position. block_positions: ChatGLM-6B's second position stream, with positions (else NULL).
 * outputs NULL: the last row of each sequence outputs logits; else nonzero marks the rows that do. */
typedef struct vkllm_batch {
  size_t n_tokens;
  const int32_t* tokens;
  vkllm_sequence* const* sequences;
  const int32_t* positions;
  const int32_t* block_positions;
  const int8_t* outputs;
} vkllm_batch;

/* Decodes the batch and writes the logits of its output rows, in batch order, to logits
 * ([outputs][vocab] floats; capacity in floats; NULL with 0 when no row outputs). *n_outputs
 * (may be NULL) receives the number of output rows. On failure no sequence changes. With the
 * defaults (positions and outputs NULL), the sequences of one model share one pass over the
 * weights where the architecture batches sequences (Llama/Qwen2, Gemma, GPT-2); otherwise each
 * sequence is its own pass. */
vkllm_status vkllm_decode(const vkllm_batch* batch, float* logits, size_t capacity, size_t* n_outputs);

/* Cache operations, all on the device. */
/* Keeps the listed slots in the listed order as slots 0..n-1 (keep BOS + document, drop a prefix). */
vkllm_status vkllm_sequence_select(vkllm_sequence* sequence, const int64_t* slots, size_t n_slots);
/* Re-rotates the keys of slots [first, first + count) by delta positions, each layer with its own RoPE. */
vkllm_status vkllm_sequence_reposition(vkllm_sequence* sequence, int64_t first, int64_t count, int32_t delta, int32_t block_delta);
/* Keeps the first n entries. */
vkllm_status vkllm_sequence_truncate(vkllm_sequence* sequence, int64_t n);
/* Empties the sequence (and its encoder part). */
vkllm_status vkllm_sequence_clear(vkllm_sequence* sequence);
/* A new sequence with a copy of this one's state (same model and options). */
vkllm_status vkllm_sequence_fork(const vkllm_sequence* sequence, vkllm_sequence** copy);
/* Replaces dst's state with a copy of src's (same model; dst needs room for it). */
vkllm_status vkllm_sequence_copy(const vkllm_sequence* src, vkllm_sequence* dst);
/* The whole state to a cache file, and back. Loading refuses another model's file, a damaged
 * one and one larger than the sequence, changing nothing. */
vkllm_status vkllm_sequence_save(const vkllm_sequence* sequence, const char* path);
vkllm_status vkllm_sequence_load(vkllm_sequence* sequence, const char* path);

/* ---- Samplers: llama.cpp's chain (penalties, top-k, top-p, min-p, temperature, draw) ---- */

typedef struct vkllm_sampler_options {
  size_t struct_size;  /* sizeof(vkllm_sampler_options) */
  float temperature;   /* 0.8; <= 0: greedy */
  int32_t top_k;       /* 40; <= 0: off */
  float top_p;         /* 0.95; >= 1: off */
  float min_p;         /* 0.05; <= 0: off */
  float repeat_penalty; /* 1: off */
  float frequency_penalty, presence_penalty; /* 0: off */
  int32_t penalty_last_n; /* 64; -1: all */
  uint32_t seed;
  int32_t gumbel;      /* nonzero: Gumbel-max draw */
} vkllm_sampler_options;

vkllm_sampler_options vkllm_sampler_default_options(void);
vkllm_status vkllm_sampler_create(const vkllm_sampler_options* options, vkllm_sampler** sampler);
void vkllm_sampler_free(vkllm_sampler* sampler);
/* Records a token (prompt or generated) for the penalties. */
vkllm_status vkllm_sampler_accept(vkllm_sampler* sampler, int32_t token);
/* Draws the next token from one row of logits (n_vocab floats). */
vkllm_status vkllm_sampler_sample(vkllm_sampler* sampler, const float* logits, int32_t n_vocab, int32_t* token);

#ifdef __cplusplus
}
#endif

#endif /* VKLLM_H */
