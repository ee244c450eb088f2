// Scene cards: the offline provider's pictures. A 1280x720 PNG with a procedural landscape
// seeded from the scene (sky, sun or moon, hills, mountains, sea, forest, dunes or a town,
// chosen from the scene's words and the style) under a panel with the scene number, title
// and description, labelled as not AI generated. Pure function of its input: the same
// scene gives the same bytes with the same Cairo. Thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "providers/provider.h"
#include "storyloom/error.h"

namespace storyloom::providers::offline {

inline constexpr int kSceneCardWidth = 1280;
inline constexpr int kSceneCardHeight = 720;

// Returns the PNG bytes of the card for `scene` drawn in `style` (e.g. "watercolor",
// "noir"; may be empty), or internal if Cairo fails.
Result<std::string> RenderSceneCard(const SceneSpec& scene, std::string_view style);

}  // namespace storyloom::providers::offline
