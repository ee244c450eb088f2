#include "providers/offline/landscape.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "core/text_util.h"
#include "providers/offline/seeded_random.h"

namespace storyloom::providers::offline {
namespace {

constexpr double kPi = 3.14159265358979323846;

constexpr Rgb Hex(std::uint32_t v) {
  return {((v >> 16) & 0xff) / 255.0, ((v >> 8) & 0xff) / 255.0, (v & 0xff) / 255.0};
}

Rgb Mix(Rgb a, Rgb b, double t) {
  return {a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t};
}

Rgb Scale(Rgb c, double k) { return {c.r * k, c.g * k, c.b * k}; }

struct Palette {
  Rgb sky_top, sky_horizon, sun, glow, accent;
  double land_light;  // multiplier for daylight land colours
  Rgb land_tint;      // colour the land leans towards at this time
  double tint;        // how far
};

Palette PaletteFor(TimeOfDay time) {
  switch (time) {
    case TimeOfDay::kGolden:
      return {Hex(0x4f78b0), Hex(0xffcf8a), Hex(0xfff1c1), Hex(0xffb45e),
              Hex(0xffc46b), 0.85,          Hex(0xc07a3a), 0.25};
    case TimeOfDay::kDusk:
      return {Hex(0x27285a), Hex(0xf48b6c), Hex(0xffc58a), Hex(0xff8a5c),
              Hex(0xffab8a), 0.55,          Hex(0x4a2e5c), 0.45};
    case TimeOfDay::kNight:
      return {Hex(0x070b1f), Hex(0x27386a), Hex(0xf4f1de), Hex(0xbfd3ff),
              Hex(0xa9d1ff), 0.30,          Hex(0x1b2550), 0.55};
    case TimeOfDay::kDawn:
      return {Hex(0x6688c4), Hex(0xfac8b4), Hex(0xfff2e2), Hex(0xffc2a8),
              Hex(0xffb8a0), 0.80,          Hex(0x8c7aa8), 0.25};
    case TimeOfDay::kDay:
      break;
  }
  return {Hex(0x3a7bd5), Hex(0xc4e6f7), Hex(0xfffbe6), Hex(0xfff3b0),
          Hex(0xffd166), 1.0,           Hex(0xffffff), 0.0};
}

struct TerrainColors {
  Rgb far, near;
};

TerrainColors TerrainColorsFor(Terrain terrain) {
  switch (terrain) {
    case Terrain::kMountains:
      return {Hex(0x8d9cb8), Hex(0x46536a)};
    case Terrain::kSea:
      return {Hex(0x86a6a0), Hex(0x3d5e45)};
    case Terrain::kForest:
      return {Hex(0x6f9a7e), Hex(0x1d4a2d)};
    case Terrain::kDesert:
      return {Hex(0xe6bd84), Hex(0xb5773f)};
    case Terrain::kCity:
      return {Hex(0x8b95aa), Hex(0x3a4152)};
    case Terrain::kHills:
      break;
  }
  return {Hex(0x93bf8f), Hex(0x3f7a43)};
}

// Draws with the spec's look applied to every colour.
class Painter {
 public:
  Painter(cairo_t* cr, const LandscapeSpec& spec) : cr_(cr), look_(spec.look) {}
  cairo_t* cr() const { return cr_; }

  Rgb Apply(Rgb c) const {
    switch (look_) {
      case Look::kMonochrome: {
        const double y = 0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b;
        return Mix(c, {y, y, y}, 0.92);
      }
      case Look::kSoft:
        return Mix(c, Hex(0xfff8ee), 0.22);
      case Look::kNatural:
        break;
    }
    return c;
  }
  void Color(Rgb c, double alpha = 1.0) const {
    const Rgb d = Apply(c);
    cairo_set_source_rgba(cr_, d.r, d.g, d.b, alpha);
  }
  void Stop(cairo_pattern_t* p, double offset, Rgb c, double alpha = 1.0) const {
    const Rgb d = Apply(c);
    cairo_pattern_add_color_stop_rgba(p, offset, d.r, d.g, d.b, alpha);
  }

 private:
  cairo_t* cr_;
  Look look_;
};

// A ridge line: a few sines, optionally folded into sharp peaks.
struct Ridge {
  double base = 0, amplitude = 0;
  double freq[3] = {}, phase[3] = {}, weight[3] = {};
  bool peaks = false;

  double At(double x) const {
    double v = 0;
    for (int k = 0; k < 3; ++k) {
      const double s = std::sin(freq[k] * x + phase[k]);
      v += weight[k] * (peaks ? 1.0 - std::fabs(s) : 0.5 + 0.5 * s);
    }
    return base - amplitude * v;
  }
};

Ridge MakeRidge(SeededRandom& rng, double base, double amplitude, double wavelength, bool peaks) {
  Ridge r;
  r.base = base;
  r.amplitude = amplitude;
  r.peaks = peaks;
  const double weights[3] = {0.6, 0.28, 0.12};
  for (int k = 0; k < 3; ++k) {
    r.freq[k] = 2 * kPi / (wavelength / (1 << k)) * rng.Range(0.8, 1.25);
    r.phase[k] = rng.Range(0, 2 * kPi);
    r.weight[k] = weights[k];
  }
  return r;
}

void RidgePath(cairo_t* cr, const Ridge& ridge, int width, int height) {
  cairo_move_to(cr, 0, height);
  for (int x = 0; x <= width; x += 6) cairo_line_to(cr, x, ridge.At(x));
  cairo_line_to(cr, width, height);
  cairo_close_path(cr);
}

void PaintSky(const Painter& p, const Palette& pal, int width, double horizon) {
  cairo_pattern_t* sky = cairo_pattern_create_linear(0, 0, 0, horizon);
  p.Stop(sky, 0, pal.sky_top);
  p.Stop(sky, 0.65, Mix(pal.sky_top, pal.sky_horizon, 0.55));
  p.Stop(sky, 1, pal.sky_horizon);
  cairo_set_source(p.cr(), sky);
  cairo_rectangle(p.cr(), 0, 0, width, horizon + 2);
  cairo_fill(p.cr());
  cairo_pattern_destroy(sky);
}

void PaintStars(const Painter& p, SeededRandom& rng, int width, double horizon) {
  for (int i = 0; i < 170; ++i) {
    const double x = rng.Range(0, width);
    const double y = rng.Range(0, horizon * 0.85);
    p.Color(Rgb{1, 1, 0.95}, rng.Range(0.25, 0.95) * (1.0 - 0.7 * y / horizon));
    cairo_arc(p.cr(), x, y, rng.Range(0.5, 1.7), 0, 2 * kPi);
    cairo_fill(p.cr());
  }
}

void PaintSunOrMoon(const Painter& p, const Palette& pal, bool night, double x, double y,
                    double radius) {
  cairo_t* cr = p.cr();
  cairo_pattern_t* glow = cairo_pattern_create_radial(x, y, radius * 0.5, x, y, radius * 4.5);
  p.Stop(glow, 0, pal.glow, night ? 0.35 : 0.6);
  p.Stop(glow, 1, pal.glow, 0);
  cairo_set_source(cr, glow);
  cairo_arc(cr, x, y, radius * 4.5, 0, 2 * kPi);
  cairo_fill(cr);
  cairo_pattern_destroy(glow);
  if (!night) {
    p.Color(pal.sun);
    cairo_arc(cr, x, y, radius, 0, 2 * kPi);
    cairo_fill(cr);
    return;
  }
  // A crescent: the moon's disc with an offset disc cut out of it.
  cairo_push_group(cr);
  p.Color(pal.sun);
  cairo_arc(cr, x, y, radius, 0, 2 * kPi);
  cairo_fill(cr);
  cairo_set_operator(cr, CAIRO_OPERATOR_CLEAR);
  cairo_arc(cr, x + radius * 0.45, y - radius * 0.2, radius * 0.92, 0, 2 * kPi);
  cairo_fill(cr);
  cairo_set_operator(cr, CAIRO_OPERATOR_OVER);
  cairo_pop_group_to_source(cr);
  cairo_paint(cr);
}

void PaintClouds(const Painter& p, const Palette& pal, SeededRandom& rng, int width,
                 double horizon) {
  cairo_t* cr = p.cr();
  const int clouds = 2 + static_cast<int>(rng.Below(4));
  for (int c = 0; c < clouds; ++c) {
    const double cx = rng.Range(-60, width + 60);
    const double cy = rng.Range(horizon * 0.12, horizon * 0.6);
    const double size = rng.Range(28, 60);
    cairo_push_group(cr);
    p.Color(Mix(Rgb{1, 1, 1}, pal.glow, 0.3));
    for (int k = 0; k < 6; ++k) {
      const double ox = (k - 2.5) * size * rng.Range(0.55, 0.8);
      const double oy = std::fabs(2.5 - k) * size * 0.15 - rng.Range(0, size * 0.4);
      cairo_save(cr);
      cairo_translate(cr, cx + ox, cy + oy);
      cairo_scale(cr, 1.4, 0.8);
      cairo_arc(cr, 0, 0, size * rng.Range(0.6, 1.0), 0, 2 * kPi);
      cairo_restore(cr);
      cairo_fill(cr);
    }
    cairo_pop_group_to_source(cr);
    cairo_paint_with_alpha(cr, 0.55);
  }
}

void PaintPine(const Painter& p, Rgb color, double x, double ground, double h) {
  cairo_t* cr = p.cr();
  p.Color(Scale(color, 0.7));
  cairo_rectangle(cr, x - h * 0.04, ground - h * 0.2, h * 0.08, h * 0.22);
  cairo_fill(cr);
  p.Color(color);
  for (int tier = 0; tier < 3; ++tier) {
    const double bottom = ground - h * (0.15 + 0.25 * tier);
    const double half = h * (0.28 - 0.06 * tier);
    cairo_move_to(cr, x - half, bottom);
    cairo_line_to(cr, x + half, bottom);
    cairo_line_to(cr, x, bottom - h * 0.45);
    cairo_close_path(cr);
    cairo_fill(cr);
  }
}

void PaintRoundTree(const Painter& p, Rgb color, double x, double ground, double h) {
  cairo_t* cr = p.cr();
  p.Color(Scale(color, 0.6));
  cairo_rectangle(cr, x - h * 0.05, ground - h * 0.5, h * 0.1, h * 0.52);
  cairo_fill(cr);
  p.Color(color);
  cairo_arc(cr, x, ground - h * 0.62, h * 0.32, 0, 2 * kPi);
  cairo_fill(cr);
}

void PaintTown(const Painter& p, SeededRandom& rng, Rgb color, bool lit, int width, double ground) {
  cairo_t* cr = p.cr();
  double x = rng.Range(-20, 10);
  while (x < width) {
    const double w = rng.Range(34, 86);
    const double h = rng.Range(50, 210);
    p.Color(color);
    cairo_rectangle(cr, x, ground - h, w - 4, h + 40);
    cairo_fill(cr);
    if (rng.Below(4) == 0) {  // a pointed roof
      cairo_move_to(cr, x - 2, ground - h);
      cairo_line_to(cr, x + (w - 4) / 2, ground - h - w * 0.45);
      cairo_line_to(cr, x + w - 2, ground - h);
      cairo_close_path(cr);
      cairo_fill(cr);
    }
    for (double wy = ground - h + 12; wy < ground - 10; wy += 22) {
      for (double wx = x + 8; wx < x + w - 16; wx += 16) {
        if (rng.Below(3) != 0) continue;
        p.Color(lit ? Hex(0xffd98a) : Scale(color, 1.35), lit ? 0.85 : 0.6);
        cairo_rectangle(cr, wx, wy, 7, 10);
        cairo_fill(cr);
      }
    }
    x += w;
  }
}

void PaintLighthouse(const Painter& p, const Palette& pal, bool dark, double x, double ground) {
  cairo_t* cr = p.cr();
  const double h = 190, bottom_half = 22, top_half = 14;
  const auto band = [&](double t0, double t1, Rgb c) {
    const double y0 = ground - h * t0, y1 = ground - h * t1;
    const double w0 = bottom_half + (top_half - bottom_half) * t0;
    const double w1 = bottom_half + (top_half - bottom_half) * t1;
    p.Color(dark ? Scale(c, 0.45) : c);
    cairo_move_to(cr, x - w0, y0);
    cairo_line_to(cr, x + w0, y0);
    cairo_line_to(cr, x + w1, y1);
    cairo_line_to(cr, x - w1, y1);
    cairo_close_path(cr);
    cairo_fill(cr);
  };
  for (int i = 0; i < 4; ++i) band(i * 0.25, (i + 1) * 0.25, i % 2 ? Hex(0xc8453b) : Hex(0xf3efe6));
  const double lamp_y = ground - h - 14;
  cairo_pattern_t* glow = cairo_pattern_create_radial(x, lamp_y, 4, x, lamp_y, dark ? 120 : 40);
  p.Stop(glow, 0, Hex(0xfff2b0), dark ? 0.9 : 0.5);
  p.Stop(glow, 1, Hex(0xfff2b0), 0);
  cairo_set_source(cr, glow);
  cairo_arc(cr, x, lamp_y, dark ? 120 : 40, 0, 2 * kPi);
  cairo_fill(cr);
  cairo_pattern_destroy(glow);
  p.Color(Hex(0xfff2b0));
  cairo_rectangle(cr, x - 9, lamp_y - 10, 18, 20);
  cairo_fill(cr);
  p.Color(dark ? Scale(pal.sky_top, 0.8) : Hex(0x2f2f35));
  cairo_move_to(cr, x - 16, lamp_y - 10);
  cairo_line_to(cr, x + 16, lamp_y - 10);
  cairo_line_to(cr, x, lamp_y - 30);
  cairo_close_path(cr);
  cairo_fill(cr);
}

void PaintWater(const Painter& p, const Palette& pal, SeededRandom& rng, int width, int height,
                double horizon, double sun_x) {
  cairo_t* cr = p.cr();
  cairo_pattern_t* water = cairo_pattern_create_linear(0, horizon, 0, height);
  p.Stop(water, 0, Mix(pal.sky_horizon, Hex(0x1f5f8b), 0.45));
  p.Stop(water, 1, Scale(Mix(pal.sky_top, Hex(0x0d3656), 0.5), pal.land_light * 0.9 + 0.1));
  cairo_set_source(cr, water);
  cairo_rectangle(cr, 0, horizon, width, height - horizon);
  cairo_fill(cr);
  cairo_pattern_destroy(water);
  // The sun's path on the water, and a few wave glints.
  for (double y = horizon + 4; y < height; y += 9) {
    const double t = (y - horizon) / (height - horizon);
    const double half = 14 + 90 * t * rng.Range(0.6, 1.1);
    p.Color(pal.glow, 0.45 * (1 - t) + 0.05);
    cairo_rectangle(cr, sun_x - half + rng.Range(-12, 12), y, 2 * half, 2.5);
    cairo_fill(cr);
  }
  for (int i = 0; i < 60; ++i) {
    const double y = rng.Range(horizon + 6, height);
    p.Color(Rgb{1, 1, 1}, 0.12);
    cairo_rectangle(cr, rng.Range(0, width), y, rng.Range(12, 40), 1.5);
    cairo_fill(cr);
  }
}

void PaintVignette(cairo_t* cr, int width, int height) {
  cairo_pattern_t* v = cairo_pattern_create_radial(width / 2.0, height / 2.0, height * 0.45,
                                                   width / 2.0, height / 2.0, width * 0.75);
  cairo_pattern_add_color_stop_rgba(v, 0, 0, 0, 0, 0);
  cairo_pattern_add_color_stop_rgba(v, 1, 0, 0, 0, 0.4);
  cairo_set_source(cr, v);
  cairo_paint(cr);
  cairo_pattern_destroy(v);
}

bool HasAny(const std::set<std::string>& words, std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    if (words.count(k)) return true;
  }
  return false;
}

}  // namespace

LandscapeSpec ChooseLandscape(std::string_view text, std::string_view style, std::uint64_t seed) {
  std::set<std::string> words;
  std::string word;
  for (char c : core::AsciiLower(std::string(text) + " " + std::string(style) + " ")) {
    if (c >= 'a' && c <= 'z') {
      word += c;
    } else if (!word.empty()) {
      words.insert(word);
      word.clear();
    }
  }
  SeededRandom rng(seed);
  LandscapeSpec spec;
  spec.seed = seed;
  if (HasAny(words, {"night", "moon", "moonlight", "stars", "midnight", "nights", "dark"})) {
    spec.time = TimeOfDay::kNight;
  } else if (HasAny(words, {"dusk", "sunset", "evening", "twilight"})) {
    spec.time = TimeOfDay::kDusk;
  } else if (HasAny(words, {"dawn", "sunrise", "morning", "mornings"})) {
    spec.time = TimeOfDay::kDawn;
  } else {
    static constexpr TimeOfDay kTimes[] = {TimeOfDay::kDay, TimeOfDay::kDay, TimeOfDay::kGolden,
                                           TimeOfDay::kDusk, TimeOfDay::kDawn};
    spec.time = kTimes[rng.Below(5)];
  }
  if (HasAny(words, {"sea", "ocean", "harbor", "harbour", "coast", "shore", "beach", "waves",
                     "lighthouse", "lake", "island", "ship", "boat"})) {
    spec.terrain = Terrain::kSea;
  } else if (HasAny(words, {"desert", "dune", "dunes", "sand", "oasis"})) {
    spec.terrain = Terrain::kDesert;
  } else if (HasAny(words, {"mountain", "mountains", "peak", "peaks", "snow", "valley", "cliff",
                            "cliffs", "glacier"})) {
    spec.terrain = Terrain::kMountains;
  } else if (HasAny(words, {"forest", "woods", "tree", "trees", "oak", "pine", "jungle"})) {
    spec.terrain = Terrain::kForest;
  } else if (HasAny(words, {"city", "town", "street", "streets", "tower", "canal", "canals",
                            "market", "bridges", "rooftops"})) {
    spec.terrain = Terrain::kCity;
  } else {
    static constexpr Terrain kTerrains[] = {Terrain::kHills, Terrain::kHills, Terrain::kMountains,
                                            Terrain::kForest, Terrain::kSea};
    spec.terrain = kTerrains[rng.Below(5)];
  }
  spec.lighthouse = words.count("lighthouse") > 0;
  if (HasAny(words, {"noir", "monochrome", "grayscale", "greyscale", "ink", "charcoal", "pencil",
                     "sketch"})) {
    spec.look = Look::kMonochrome;
  } else if (HasAny(words, {"watercolor", "watercolour", "pastel", "soft", "dreamy", "gouache"})) {
    spec.look = Look::kSoft;
  }
  return spec;
}

Rgb AccentColor(const LandscapeSpec& spec) {
  const Painter p(nullptr, spec);
  return p.Apply(PaletteFor(spec.time).accent);
}

void PaintLandscape(cairo_t* cr, const LandscapeSpec& spec, int width, int height) {
  const Painter p(cr, spec);
  const Palette pal = PaletteFor(spec.time);
  SeededRandom rng(spec.seed ^ 0x5ca1ab1e);
  const bool night = spec.time == TimeOfDay::kNight;
  const bool dark = night || spec.time == TimeOfDay::kDusk;
  const double horizon = height * (spec.terrain == Terrain::kSea ? 0.6 : 0.64);

  PaintSky(p, pal, width, horizon);
  if (night) PaintStars(p, rng, width, horizon);
  const double sun_x = rng.Range(width * 0.42, width * 0.88);
  const bool low_sun = spec.time != TimeOfDay::kDay && !night;
  const double sun_y =
      low_sun ? horizon - rng.Range(30, 110) : rng.Range(height * 0.12, height * 0.3);
  PaintSunOrMoon(p, pal, night, sun_x, sun_y, night ? 34 : 46);
  if (!night) PaintClouds(p, pal, rng, width, horizon);

  const TerrainColors tc = TerrainColorsFor(spec.terrain);
  const auto land = [&](Rgb c) { return Mix(Scale(c, pal.land_light), pal.land_tint, pal.tint); };
  const Rgb haze = Mix(land(tc.far), pal.sky_horizon, 0.45);
  const Rgb near = land(tc.near);

  if (spec.terrain == Terrain::kSea) {
    PaintWater(p, pal, rng, width, height, horizon, sun_x);
    // A low far shore on the horizon and a headland in front.
    Ridge far = MakeRidge(rng, horizon + 2, 22, 420, false);
    p.Color(haze);
    cairo_save(cr);
    cairo_rectangle(cr, 0, 0, width * 0.45, height);
    cairo_clip(cr);
    cairo_move_to(cr, 0, horizon + 2);
    for (int x = 0; x <= width; x += 6) cairo_line_to(cr, x, far.At(x));
    cairo_line_to(cr, width, horizon + 2);
    cairo_close_path(cr);
    cairo_fill(cr);
    cairo_restore(cr);
    // A headland on the right, clear of the text panel on the left.
    const double edge = width * rng.Range(0.25, 0.38);
    Ridge head = MakeRidge(rng, height * 0.8, 60, 500, false);
    p.Color(near);
    cairo_move_to(cr, width, height);
    for (int i = 0; i <= 60; ++i) {
      const double t = i / 60.0;
      const double x = width - t * edge;
      const double drop = std::pow(t, 3) * (height - head.At(x) + 10);
      cairo_line_to(cr, x, head.At(x) + drop);
    }
    cairo_line_to(cr, width - edge, height);
    cairo_close_path(cr);
    cairo_fill(cr);
    if (spec.lighthouse) {
      const double lx = width - edge * 0.35;
      PaintLighthouse(p, pal, dark, lx, head.At(lx) + 6);
    }
  } else {
    const bool peaks = spec.terrain == Terrain::kMountains;
    const bool dunes = spec.terrain == Terrain::kDesert;
    for (int layer = 0; layer < 3; ++layer) {
      const double t = layer / 2.0;
      const double base = horizon + layer * height * 0.1;
      const double amplitude = (peaks ? 260 - 70 * layer : dunes ? 55 : 110 - 25 * layer);
      const double wavelength = peaks ? 520 - 120 * layer : dunes ? 900 : 700 - 120 * layer;
      Ridge ridge = MakeRidge(rng, base, amplitude, wavelength, peaks && layer < 2);
      const Rgb color = Mix(haze, near, t);
      cairo_pattern_t* fill = cairo_pattern_create_linear(0, base - amplitude, 0, height);
      p.Stop(fill, 0, Mix(color, pal.glow, dunes ? 0.25 : 0.08));
      p.Stop(fill, 1, Scale(color, 0.8));
      cairo_set_source(cr, fill);
      RidgePath(cr, ridge, width, height);
      if (peaks && layer == 0) {
        // Snow on the highest peaks.
        cairo_fill_preserve(cr);
        cairo_save(cr);
        cairo_clip(cr);
        p.Color(Mix(Rgb{1, 1, 1}, pal.sky_horizon, 0.25), 0.85);
        cairo_rectangle(cr, 0, base - amplitude, width, amplitude * 0.38);
        cairo_fill(cr);
        cairo_restore(cr);
      } else {
        cairo_fill(cr);
      }
      cairo_pattern_destroy(fill);
      if (spec.terrain == Terrain::kCity && layer == 1) {
        PaintTown(p, rng, Mix(color, near, 0.5), dark, width, ridge.At(width / 2.0) + 30);
      }
      const bool pines = spec.terrain == Terrain::kForest || spec.terrain == Terrain::kMountains;
      const bool round = spec.terrain == Terrain::kHills;
      if ((pines || round) && layer >= 1) {
        const int trees = pines ? (layer == 1 ? 46 : 24) : (layer == 1 ? 10 : 7);
        std::vector<double> xs;
        xs.reserve(trees);
        for (int i = 0; i < trees; ++i) xs.push_back(rng.Range(-20, width + 20));
        std::sort(xs.begin(), xs.end());
        for (double x : xs) {
          const double h = (layer == 1 ? 50 : 95) * rng.Range(0.7, 1.3);
          const Rgb tree = Scale(Mix(color, near, 0.6), 0.75);
          if (pines) {
            PaintPine(p, tree, x, ridge.At(x) + 8, h);
          } else {
            PaintRoundTree(p, tree, x, ridge.At(x) + 8, h);
          }
        }
      }
    }
  }
  PaintVignette(cr, width, height);
}

}  // namespace storyloom::providers::offline
