// `vkllm make-model`: a random-weight model in standard GGUF conventions.
#include <cstdio>
#include <memory>

#include "models/make_model.h"
#include "tools/cli/commands.h"

namespace vkllm::cli {

Command add_make_model(CLI::App& app) {
  auto m = std::make_shared<SyntheticModel>();
  auto out = std::make_shared<std::string>();
  auto* sub = app.add_subcommand("make-model", "write a random-weight model in standard GGUF conventions");
  sub->add_option("--arch", m->arch, "llama, qwen2, gpt2, chatglm6b, gemma2, gemma3, t5, bart, t5gemma or t5gemma2");
  sub->add_option("--dim", m->dim);
  sub->add_option("--layers", m->layers);
  sub->add_option("--heads", m->heads);
  sub->add_option("--kv-heads", m->kv_heads);
  sub->add_option("--head-dim", m->head_dim, "gemma2, gemma3, t5gemma(2), t5: each head's width (default dim / heads)");
  sub->add_flag("--t5-v1-0", m->t5_v1_0, "t5: the original T5 (ReLU feed-forward, tied output) instead of v1.1 / Flan-T5");
  sub->add_option("--ffn", m->ffn);
  sub->add_option("--vocab", m->vocab);
  sub->add_option("--context", m->context);
  sub->add_option("--type", m->type, "f32, f16, q8_0, q4_0, q4_k_m, q5_k_m or q6_k (the tensor types llama.cpp's quantizer gives each)");
  sub->add_option("--seed", m->seed);
  sub->add_option("--sliding-window", m->sliding_window, "attention window in positions (0: full): llama, qwen2 every layer's; gemma2, gemma3, t5gemma(2) the sliding layers'");
  sub->add_option("--chat-template", m->chat_template, "a Jinja chat template to store as tokenizer.chat_template");
  sub->add_option("-o,--output", *out, "output .gguf file")->required();
  return {sub, [m, out] {
            make_model(*m, *out);
            std::fprintf(stderr, "wrote %s\n", out->c_str());
          }};
}

}  // namespace vkllm::cli
