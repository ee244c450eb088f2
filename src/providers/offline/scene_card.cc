#include "providers/offline/scene_card.h"

#include <cairo.h>

#include <memory>
#include <string>
#include <vector>

#include "core/text_util.h"
#include "providers/offline/landscape.h"
#include "providers/offline/seeded_random.h"

namespace storyloom::providers::offline {
namespace {

constexpr const char* kFont = "DejaVu Sans";
constexpr const char* kLabel = "offline scene card \u2014 not AI generated";

struct SurfaceDeleter {
  void operator()(cairo_surface_t* s) const { cairo_surface_destroy(s); }
};
struct ContextDeleter {
  void operator()(cairo_t* cr) const { cairo_destroy(cr); }
};

double TextWidth(cairo_t* cr, const std::string& text) {
  cairo_text_extents_t ext;
  cairo_text_extents(cr, text.c_str(), &ext);
  return ext.x_advance;
}

// Removes the last UTF-8 character of `s`.
void PopCharacter(std::string& s) {
  while (!s.empty() && (static_cast<unsigned char>(s.back()) & 0xc0) == 0x80) s.pop_back();
  if (!s.empty()) s.pop_back();
}

// Breaks `text` into lines no wider than `max_width` with the current font, at most
// `max_lines` of them; an overlong last line ends in an ellipsis. Words wider than a line
// are broken between characters.
std::vector<std::string> WrapText(cairo_t* cr, const std::string& text, double max_width,
                                  std::size_t max_lines) {
  std::vector<std::string> lines;
  std::string current;
  for (const std::string& word : core::SplitWords(text)) {
    std::string candidate = current;
    if (!candidate.empty()) candidate += ' ';
    candidate += word;
    if (TextWidth(cr, candidate) <= max_width) {
      current = std::move(candidate);
      continue;
    }
    if (!current.empty()) lines.push_back(current);
    current.clear();
    if (TextWidth(cr, word) <= max_width) {
      current = word;
      continue;
    }
    for (std::size_t i = 0; i < word.size();) {
      std::size_t len = 1;
      while (i + len < word.size() && (static_cast<unsigned char>(word[i + len]) & 0xc0) == 0x80) {
        ++len;
      }
      const std::string next = current + word.substr(i, len);
      if (!current.empty() && TextWidth(cr, next) > max_width) {
        lines.push_back(current);
        current = word.substr(i, len);
      } else {
        current = next;
      }
      i += len;
    }
  }
  if (!current.empty()) lines.push_back(current);
  if (lines.size() > max_lines) {
    lines.resize(max_lines);
    std::string& last = lines.back();
    while (!last.empty() && TextWidth(cr, last + "\u2026") > max_width) PopCharacter(last);
    while (!last.empty() && (last.back() == ' ' || last.back() == ',')) last.pop_back();
    last += "\u2026";
  }
  return lines;
}

void RoundedRect(cairo_t* cr, double x, double y, double w, double h, double r) {
  constexpr double kQuarter = 3.14159265358979323846 / 2;
  cairo_new_sub_path(cr);
  cairo_arc(cr, x + w - r, y + r, r, -kQuarter, 0);
  cairo_arc(cr, x + w - r, y + h - r, r, 0, kQuarter);
  cairo_arc(cr, x + r, y + h - r, r, kQuarter, 2 * kQuarter);
  cairo_arc(cr, x + r, y + r, r, 2 * kQuarter, 3 * kQuarter);
  cairo_close_path(cr);
}

void SetFont(cairo_t* cr, double size, bool bold) {
  cairo_select_font_face(cr, kFont, CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
}

double Ascent(cairo_t* cr) {
  cairo_font_extents_t fe;
  cairo_font_extents(cr, &fe);
  return fe.ascent;
}

// The panel with the scene's number, title and description, and the provenance label.
void PaintText(cairo_t* cr, const SceneSpec& scene, Rgb accent) {
  constexpr double kMargin = 48, kPad = 30, kPanelWidth = 800;
  constexpr double kTextWidth = kPanelWidth - 2 * kPad;
  constexpr double kLabelSize = 19, kTitleSize = 42, kBodySize = 22;
  constexpr double kTitleLine = 50, kBodyLine = 31, kGap = 12;

  const std::string label = "SCENE " + std::to_string(scene.number);
  SetFont(cr, kTitleSize, true);
  const double title_ascent = Ascent(cr);
  const std::vector<std::string> title =
      WrapText(cr, core::CollapseWhitespace(core::SanitizeUtf8(scene.title)), kTextWidth, 2);
  SetFont(cr, kBodySize, false);
  const double body_ascent = Ascent(cr);
  const std::vector<std::string> body =
      WrapText(cr, core::CollapseWhitespace(core::SanitizeUtf8(scene.description)), kTextWidth, 4);

  const double height = kPad + kLabelSize + kGap + title.size() * kTitleLine +
                        (body.empty() ? 0 : kGap + body.size() * kBodyLine) + kPad - 6;
  const double x = kMargin;
  const double y = kSceneCardHeight - kMargin - height;
  RoundedRect(cr, x, y, kPanelWidth, height, 18);
  cairo_set_source_rgba(cr, 0.04, 0.05, 0.09, 0.62);
  cairo_fill_preserve(cr);
  cairo_set_source_rgba(cr, 1, 1, 1, 0.16);
  cairo_set_line_width(cr, 1.5);
  cairo_stroke(cr);

  double cursor = y + kPad;
  SetFont(cr, kLabelSize, true);
  cairo_set_source_rgb(cr, accent.r, accent.g, accent.b);
  cairo_move_to(cr, x + kPad, cursor + Ascent(cr));
  cairo_show_text(cr, label.c_str());
  cursor += kLabelSize + kGap;

  SetFont(cr, kTitleSize, true);
  cairo_set_source_rgb(cr, 1, 1, 1);
  for (const std::string& line : title) {
    cairo_move_to(cr, x + kPad, cursor + title_ascent);
    cairo_show_text(cr, line.c_str());
    cursor += kTitleLine;
  }
  cursor += kGap;
  SetFont(cr, kBodySize, false);
  cairo_set_source_rgba(cr, 0.92, 0.93, 0.96, 0.95);
  for (const std::string& line : body) {
    cairo_move_to(cr, x + kPad, cursor + body_ascent);
    cairo_show_text(cr, line.c_str());
    cursor += kBodyLine;
  }

  // The provenance label, small, in the bottom-right corner.
  SetFont(cr, 15, false);
  const double label_width = TextWidth(cr, kLabel);
  const double lx = kSceneCardWidth - 24 - label_width - 20;
  const double ly = kSceneCardHeight - 24 - 30;
  RoundedRect(cr, lx, ly, label_width + 20, 30, 15);
  cairo_set_source_rgba(cr, 0, 0, 0, 0.5);
  cairo_fill(cr);
  cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
  cairo_move_to(cr, lx + 10, ly + 15 + Ascent(cr) / 2 - 1);
  cairo_show_text(cr, kLabel);
}

cairo_status_t AppendToString(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

}  // namespace

Result<std::string> RenderSceneCard(const SceneSpec& scene, std::string_view style) {
  const std::string number = std::to_string(scene.number);
  const std::uint64_t seed =
      StableHash({"scene-card-v1", number, scene.title, scene.description, style});
  const LandscapeSpec spec = ChooseLandscape(
      scene.title + " " + scene.description + " " + scene.image_prompt, style, seed);

  std::unique_ptr<cairo_surface_t, SurfaceDeleter> surface(
      cairo_image_surface_create(CAIRO_FORMAT_RGB24, kSceneCardWidth, kSceneCardHeight));
  if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS) {
    return Fail(Error::Internal("cairo: cannot create the image surface"));
  }
  std::unique_ptr<cairo_t, ContextDeleter> cr(cairo_create(surface.get()));
  PaintLandscape(cr.get(), spec, kSceneCardWidth, kSceneCardHeight);
  PaintText(cr.get(), scene, AccentColor(spec));
  if (const cairo_status_t status = cairo_status(cr.get()); status != CAIRO_STATUS_SUCCESS) {
    return Fail(Error::Internal(std::string("cairo: ") + cairo_status_to_string(status)));
  }
  cairo_surface_flush(surface.get());
  std::string png;
  const cairo_status_t status =
      cairo_surface_write_to_png_stream(surface.get(), AppendToString, &png);
  if (status != CAIRO_STATUS_SUCCESS) {
    return Fail(Error::Internal(std::string("cairo: cannot encode PNG: ") +
                                cairo_status_to_string(status)));
  }
  return png;
}

}  // namespace storyloom::providers::offline
