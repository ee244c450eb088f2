// The title card: the story's title, wrapped and centred, drawn with Cairo.
#include <cairo.h>

#include <memory>

#include "media/video_internal.h"

namespace storyloom::media {
namespace {

struct SurfaceDeleter {
  void operator()(cairo_surface_t* s) const { cairo_surface_destroy(s); }
};
struct CairoDeleter {
  void operator()(cairo_t* c) const { cairo_destroy(c); }
};

// Greedy word wrap of `text` to lines no wider than `max_width` at the current font.
std::vector<std::string> WrapLines(cairo_t* cr, const std::string& text, double max_width) {
  std::vector<std::string> lines;
  std::string line;
  std::string word;
  auto width = [cr](const std::string& s) {
    cairo_text_extents_t ext;
    cairo_text_extents(cr, s.c_str(), &ext);
    return ext.x_advance;
  };
  auto add_word = [&] {
    if (word.empty()) return;
    const std::string candidate = line.empty() ? word : line + " " + word;
    if (!line.empty() && width(candidate) > max_width) {
      lines.push_back(line);
      line = word;
    } else {
      line = candidate;
    }
    word.clear();
  };
  for (char c : text) {
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      add_word();
    } else {
      word += c;
    }
  }
  add_word();
  if (!line.empty()) lines.push_back(line);
  return lines;
}

}  // namespace

Result<av::FramePtr> RenderTitleCard(const std::string& title, const std::string& note, int width,
                                     int height, AVPixelFormat format) {
  SL_ASSIGN_OR_RETURN(av::FramePtr canvas, av::AllocFrame(AV_PIX_FMT_0RGB32, width, height));
  std::unique_ptr<cairo_surface_t, SurfaceDeleter> surface(cairo_image_surface_create_for_data(
      canvas->data[0], CAIRO_FORMAT_RGB24, width, height, canvas->linesize[0]));
  if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS) {
    return Fail(Error::Internal("cairo: cannot create the title card surface"));
  }
  std::unique_ptr<cairo_t, CairoDeleter> cr(cairo_create(surface.get()));
  cairo_t* c = cr.get();

  // A dark night-blue gradient.
  cairo_pattern_t* bg = cairo_pattern_create_linear(0, 0, 0, height);
  cairo_pattern_add_color_stop_rgb(bg, 0, 0.09, 0.11, 0.18);
  cairo_pattern_add_color_stop_rgb(bg, 1, 0.03, 0.04, 0.07);
  cairo_set_source(c, bg);
  cairo_paint(c);
  cairo_pattern_destroy(bg);

  // Titles are short, but one is never allowed to be drawn at any length.
  const std::string text = title.size() > 300 ? title.substr(0, 300) + "…" : title;
  cairo_select_font_face(c, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
  double size = height / 11.0;
  std::vector<std::string> lines;
  const double max_width = width * 0.84;
  for (;;) {
    cairo_set_font_size(c, size);
    lines = WrapLines(c, text, max_width);
    if (lines.size() <= 4 || size < height / 30.0) break;
    size *= 0.85;
  }
  cairo_font_extents_t font;
  cairo_font_extents(c, &font);
  const double line_height = font.height * 1.15;
  double y = height / 2.0 - line_height * static_cast<double>(lines.size()) / 2.0 + font.ascent;
  cairo_set_source_rgb(c, 0.96, 0.94, 0.88);
  for (const std::string& line : lines) {
    cairo_text_extents_t ext;
    cairo_text_extents(c, line.c_str(), &ext);
    cairo_move_to(c, (width - ext.x_advance) / 2.0, y);
    cairo_show_text(c, line.c_str());
    y += line_height;
  }
  // A thin rule under the title.
  cairo_set_source_rgb(c, 0.85, 0.65, 0.3);
  cairo_rectangle(c, width * 0.42, y - font.ascent + line_height * 0.35, width * 0.16,
                  std::max(2.0, height / 240.0));
  cairo_fill(c);
  // The note (e.g. that the offline provider's pictures and voice are not AI generated) on
  // one line near the bottom, where the pan and zoom of the scenes never crop it.
  if (!note.empty()) {
    const std::string small = note.size() > 200 ? note.substr(0, 200) + "…" : note;
    cairo_select_font_face(c, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(c, height / 32.0);
    cairo_text_extents_t ext;
    cairo_text_extents(c, small.c_str(), &ext);
    cairo_set_source_rgb(c, 0.70, 0.72, 0.78);
    cairo_move_to(c, std::max(0.0, (width - ext.x_advance) / 2.0), height * 0.9);
    cairo_show_text(c, small.c_str());
  }
  cairo_surface_flush(surface.get());
  if (cairo_status(c) != CAIRO_STATUS_SUCCESS) {
    return Fail(Error::Internal(std::string("cairo: ") + cairo_status_to_string(cairo_status(c))));
  }
  cr.reset();
  surface.reset();
  return av::CoverScale(*canvas, width, height, format);
}

}  // namespace storyloom::media
