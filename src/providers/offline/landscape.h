// Procedural landscapes behind scene cards: what to draw is chosen from the scene's words
// and style (time of day, terrain, look) and the details from a seed. Pure functions of
// their arguments over a caller-owned cairo_t; thread-safe for distinct contexts.
#pragma once

#include <cairo.h>

#include <cstdint>
#include <string_view>

namespace storyloom::providers::offline {

struct Rgb {
  double r = 0, g = 0, b = 0;
};

enum class TimeOfDay { kDay, kGolden, kDusk, kNight, kDawn };
enum class Terrain { kHills, kMountains, kSea, kForest, kDesert, kCity };
enum class Look { kNatural, kSoft, kMonochrome };

struct LandscapeSpec {
  TimeOfDay time = TimeOfDay::kDay;
  Terrain terrain = Terrain::kHills;
  Look look = Look::kNatural;
  bool lighthouse = false;
  std::uint64_t seed = 0;
};

// Chooses time, terrain and look from keywords in `text` ("night", "harbor", "forest"...)
// and `style` ("noir", "watercolor"...); where the words say nothing, the seed decides.
LandscapeSpec ChooseLandscape(std::string_view text, std::string_view style, std::uint64_t seed);

// Paints the whole width x height canvas.
void PaintLandscape(cairo_t* cr, const LandscapeSpec& spec, int width, int height);

// The colour for text accents that suits `spec` (after its look is applied).
Rgb AccentColor(const LandscapeSpec& spec);

}  // namespace storyloom::providers::offline
