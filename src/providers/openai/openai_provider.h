// OpenAIProvider: generation through any OpenAI-compatible API (OpenAI, Ollama, vLLM,
// LocalAI): chat completions with structured outputs for the story and the scene
// breakdown, image generations, and speech. Every attempt is reported through
// CallContext::record_usage; paid attempts reserve budget first (CallContext::Reserve).
// Retries 429/5xx/network errors/timeouts/malformed replies with exponential backoff and
// jitter, honouring Retry-After. Thread-safe: one instance serves every worker.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "providers/provider.h"

namespace storyloom::providers {

struct OpenAIOptions {
  std::string base_url = "https://api.openai.com/v1";
  std::string api_key;  // "" = no Authorization header (local servers)
  std::string chat_model = "gpt-4o-mini";
  std::string image_model = "gpt-image-1";
  std::string speech_model = "gpt-4o-mini-tts";
  // Per-phase overrides: "story", "scenes", "images", "narration" -> model.
  std::map<std::string, std::string> phase_models;
  std::string image_size;     // "" = by model (gpt-image-1: 1536x1024, dall-e-3: 1792x1024)
  std::string image_quality;  // "" = by model (gpt-image-1: medium, dall-e-3: standard)
  std::string speech_voice = "alloy";
  std::string speech_format = "wav";  // mp3, wav, opus, aac, flac, pcm
  int connect_timeout_ms = 10000;
  int timeout_ms = 120000;  // per attempt
  int max_retries = 3;      // attempts = max_retries + 1
  int backoff_ms = 500;     // first retry delay; doubles each time, with jitter
  int max_backoff_ms = 30000;
  int max_output_tokens = 4096;
};

[[nodiscard]] std::unique_ptr<Provider> MakeOpenAIProvider(OpenAIOptions options);

}  // namespace storyloom::providers
