// The server's request bodies: JSON, then every field checked as /v1/completions (first byte
// even) or /v1/chat/completions (odd) reads it.
#include "server/openai.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool chat = data[0] & 1;
  const auto body = nlohmann::ordered_json::parse(data + 1, data + size, nullptr, false);
  if (body.is_discarded()) return 0;
  try {
    vkllm::openai::parse_request(body, chat, nullptr, nullptr, 2048);
  } catch (const vkllm::openai::ApiError&) {
  }
  return 0;
}
