// The moving picture: a slow zoom and pan over each scene's picture, and crossfades.
// Bilinear sampling in fixed point straight into the encoder's yuv420p planes: no
// per-frame swscale, and the pan moves by fractions of a pixel without jitter.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "media/video_internal.h"

namespace storyloom::media {
namespace {

// The view of plane `src` (sw x sh) whose top-left corner is (x0, y0) and whose pixels are
// `step` source pixels apart, resampled into `dst` (dw x dh).
void SamplePlane(const std::uint8_t* src, int src_stride, int sw, int sh, std::uint8_t* dst,
                 int dst_stride, int dw, int dh, double x0, double y0, double step) {
  thread_local std::vector<int> xi;
  thread_local std::vector<int> xw;
  xi.resize(static_cast<std::size_t>(dw));
  xw.resize(static_cast<std::size_t>(dw));
  auto locate = [](double f, int size, int& index, int& weight) {
    f = std::clamp(f, 0.0, static_cast<double>(size - 1));
    index = std::min(static_cast<int>(f), size - 2);
    weight = static_cast<int>(std::lround((f - index) * 256));
  };
  for (int x = 0; x < dw; ++x) locate(x0 + (x + 0.5) * step - 0.5, sw, xi[x], xw[x]);
  for (int y = 0; y < dh; ++y) {
    int iy = 0;
    int wy = 0;
    locate(y0 + (y + 0.5) * step - 0.5, sh, iy, wy);
    const std::uint8_t* r0 = src + static_cast<std::ptrdiff_t>(iy) * src_stride;
    const std::uint8_t* r1 = r0 + src_stride;
    std::uint8_t* out = dst + static_cast<std::ptrdiff_t>(y) * dst_stride;
    for (int x = 0; x < dw; ++x) {
      const int i = xi[x];
      const int wx = xw[x];
      const int top = r0[i] * 256 + (r0[i + 1] - r0[i]) * wx;
      const int bottom = r1[i] * 256 + (r1[i + 1] - r1[i]) * wx;
      out[x] = static_cast<std::uint8_t>((top * 256 + (bottom - top) * wy + 32768) >> 16);
    }
  }
}

}  // namespace

void RenderKenBurns(const AVFrame& canvas, int number, double progress, AVFrame& out) {
  progress = std::clamp(progress, 0.0, 1.0);
  const double zoom = kZoomStart + (kZoomEnd - kZoomStart) * progress;
  const double cw = canvas.width;
  const double ch = canvas.height;
  // The view, in canvas pixels: 1/zoom of the picture covering the video (the canvas is
  // that picture kCanvasScale times larger, so at kZoomEnd one canvas pixel is one pixel).
  const double vw = cw / zoom;
  const double vh = ch / zoom;
  // A pan along a direction fixed per scene (golden angle steps), small enough that the
  // view stays inside the canvas at the widest zoom; centred at progress 0.5.
  const double angle = number * 2.399963229728653;
  const double reach = 0.9 * (1 - 1 / kZoomStart) / 2;
  const double pan = (2 * progress - 1) * reach;
  double cx = cw / 2 + pan * cw * std::cos(angle);
  double cy = ch / 2 + pan * ch * std::sin(angle);
  cx = std::clamp(cx, vw / 2, cw - vw / 2);
  cy = std::clamp(cy, vh / 2, ch - vh / 2);
  const double step = vw / out.width;
  for (int p = 0; p < 3; ++p) {
    const int div = p == 0 ? 1 : 2;
    SamplePlane(canvas.data[p], canvas.linesize[p], canvas.width / div, canvas.height / div,
                out.data[p], out.linesize[p], out.width / div, out.height / div,
                (cx - vw / 2) / div, (cy - vh / 2) / div, step);
  }
}

void Blend(const AVFrame& a, const AVFrame& b, double alpha, AVFrame& out) {
  const int w = std::clamp(static_cast<int>(std::lround(alpha * 256)), 0, 256);
  for (int p = 0; p < 3; ++p) {
    const int div = p == 0 ? 1 : 2;
    const int pw = out.width / div;
    const int ph = out.height / div;
    for (int y = 0; y < ph; ++y) {
      const std::uint8_t* ra = a.data[p] + static_cast<std::ptrdiff_t>(y) * a.linesize[p];
      const std::uint8_t* rb = b.data[p] + static_cast<std::ptrdiff_t>(y) * b.linesize[p];
      std::uint8_t* ro = out.data[p] + static_cast<std::ptrdiff_t>(y) * out.linesize[p];
      for (int x = 0; x < pw; ++x) {
        ro[x] = static_cast<std::uint8_t>((ra[x] * (256 - w) + rb[x] * w + 128) >> 8);
      }
    }
  }
}

void CopyPixels(const AVFrame& from, AVFrame& to) {
  for (int p = 0; p < 3; ++p) {
    const int div = p == 0 ? 1 : 2;
    for (int y = 0; y < to.height / div; ++y) {
      std::memcpy(to.data[p] + static_cast<std::ptrdiff_t>(y) * to.linesize[p],
                  from.data[p] + static_cast<std::ptrdiff_t>(y) * from.linesize[p],
                  static_cast<std::size_t>(to.width / div));
    }
  }
}

}  // namespace storyloom::media
