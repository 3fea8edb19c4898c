/* Generates from a prompt with the C API, forks the sequence to continue it two ways, and
 * saves the prompt's cache to a file that a later run could load.
 *
 *   generate MODEL CACHE_FILE [PROMPT]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vkllm.h>

#define CHECK(call)                                                                            \
  do {                                                                                         \
    vkllm_status status_ = (call);                                                             \
    if (status_ != VKLLM_OK) {                                                                 \
      fprintf(stderr, "%s: %s: %s\n", #call, vkllm_status_name(status_), vkllm_last_error()); \
      exit(1);                                                                                 \
    }                                                                                          \
  } while (0)

/* Samples n tokens after `last` (whose logits are in `logits`), printing their text. */
static void continue_sequence(vkllm_model* model, vkllm_sequence* seq, vkllm_sampler* sampler, float* logits, int n) {
  const int32_t vocab = vkllm_model_vocab(model);
  char text[256];
  for (int i = 0; i < n; ++i) {
    int32_t token;
    size_t length;
    CHECK(vkllm_sampler_sample(sampler, logits, vocab, &token));
    if (vkllm_token_ends_generation(model, token)) break;
    CHECK(vkllm_sampler_accept(sampler, token));
    CHECK(vkllm_detokenize(model, &token, 1, text, sizeof text, &length));
    fputs(text, stdout);
    vkllm_batch next = {1, &token, &seq, NULL, NULL, NULL};
    CHECK(vkllm_decode(&next, logits, (size_t)vocab, NULL));
  }
  fputs("\n", stdout);
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s MODEL CACHE_FILE [PROMPT]\n", argv[0]);
    return 2;
  }
  const char* prompt = argc > 3 ? argv[3] : "Once upon a time";

  vkllm_device* device;
  vkllm_model* model;
  CHECK(vkllm_device_open(NULL, &device));
  CHECK(vkllm_model_load(device, argv[1], &model));
  printf("device: %s, model: %s, vocabulary %d\n", vkllm_device_name(device), vkllm_model_arch(model), vkllm_model_vocab(model));

  size_t n_prompt;
  int32_t tokens[512];
  CHECK(vkllm_tokenize(model, prompt, strlen(prompt), 1, 0, tokens, sizeof tokens / sizeof tokens[0], &n_prompt));

  vkllm_sequence_options options = vkllm_sequence_default_options();
  options.context = (int64_t)n_prompt + 64;
  vkllm_sequence* seq;
  CHECK(vkllm_sequence_create(model, &options, &seq));

  /* The prompt in one batch; only its last row outputs logits. */
  const int32_t vocab = vkllm_model_vocab(model);
  float* logits = malloc(sizeof(float) * (size_t)vocab);
  float* fork_logits = malloc(sizeof(float) * (size_t)vocab);
  if (!logits || !fork_logits) return 1;
  vkllm_sequence* rows[512];
  for (size_t i = 0; i < n_prompt; ++i) rows[i] = seq;
  vkllm_batch batch = {n_prompt, tokens, rows, NULL, NULL, NULL};
  CHECK(vkllm_decode(&batch, logits, (size_t)vocab, NULL));
  CHECK(vkllm_sequence_save(seq, argv[2]));
  memcpy(fork_logits, logits, sizeof(float) * (size_t)vocab);

  /* Two continuations of one prompt: the fork shares nothing with the original afterwards. */
  vkllm_sequence* fork;
  CHECK(vkllm_sequence_fork(seq, &fork));
  vkllm_sampler_options sampling = vkllm_sampler_default_options();
  vkllm_sampler *a, *b;
  sampling.seed = 1;
  CHECK(vkllm_sampler_create(&sampling, &a));
  sampling.seed = 2;
  CHECK(vkllm_sampler_create(&sampling, &b));
  for (size_t i = 0; i < n_prompt; ++i) {
    CHECK(vkllm_sampler_accept(a, tokens[i]));
    CHECK(vkllm_sampler_accept(b, tokens[i]));
  }
  printf("first:  %s", prompt);
  continue_sequence(model, seq, a, logits, 16);
  printf("second: %s", prompt);
  continue_sequence(model, fork, b, fork_logits, 16);
  printf("saved the prompt's cache (%zu tokens) to %s\n", n_prompt, argv[2]);

  vkllm_sampler_free(a);
  vkllm_sampler_free(b);
  vkllm_sequence_free(fork);
  vkllm_sequence_free(seq);
  free(logits);
  free(fork_logits);
  vkllm_model_free(model);
  vkllm_device_free(device);
  return 0;
}
