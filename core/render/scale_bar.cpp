#include "core/render/scale_bar.h"

#include <algorithm>
#include <cmath>

namespace tilerender {
namespace {

// A 5 x 7 bitmap font for the label: digits, 'm', 'n', 'u' (drawn as µ) and space. Each glyph is
// seven rows of five bits, the top row first, the leftmost pixel the highest bit.
struct Glyph {
  char c;
  uint8_t rows[7];
};
constexpr Glyph kFont[] = {
    {'0', {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}}, {'1', {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E}},
    {'2', {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}}, {'3', {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E}},
    {'4', {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}}, {'5', {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E}},
    {'6', {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}}, {'7', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}},
    {'8', {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}}, {'9', {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}},
    {'m', {0x00, 0x00, 0x1A, 0x15, 0x15, 0x11, 0x11}}, {'n', {0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11}},
    {'u', {0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x1D}},  // µ: a u with a tail (the last row)
    {' ', {0, 0, 0, 0, 0, 0, 0}},
};

const Glyph* Find(char c) {
  for (const Glyph& g : kFont) {
    if (g.c == c) return &g;
  }
  return nullptr;
}

// "Over" of a straight color onto a premultiplied RGBA8 pixel.
void Blend(uint8_t* p, const Rgba& c) {
  const float a = c.a;
  const float src[4] = {c.r * a, c.g * a, c.b * a, a};
  for (int i = 0; i < 4; ++i) {
    const float v = src[i] * 255.f + p[i] * (1.f - a);
    p[i] = static_cast<uint8_t>(std::clamp(std::lround(v), 0l, 255l));
  }
}

}  // namespace

Result<ScaleBarPlan> PlanScaleBar(double um_per_pixel, int width) {
  if (!(um_per_pixel > 0) || !std::isfinite(um_per_pixel) || width < 16) {
    return InvalidArgument("a scale bar needs a positive pixel size and an output at least 16 pixels wide");
  }
  // The largest round length (1, 2 or 5 x 10^n) not longer than a fifth of the width.
  const double target = width / 5.0 * um_per_pixel;
  const double decade = std::pow(10.0, std::floor(std::log10(target)));
  double length = decade;
  for (double m : {2.0, 5.0}) {
    if (decade * m <= target) length = decade * m;
  }
  ScaleBarPlan plan;
  plan.length_um = length;
  plan.length_px = static_cast<int>(std::lround(length / um_per_pixel));
  if (plan.length_px < 1 || length < 1e-4 || length > 1e9) {
    return InvalidArgument("no scale bar fits a scale of " + std::to_string(um_per_pixel) + " um per pixel");
  }
  // The label in nm, µm or mm, whichever gives a number from 1 to 999.
  auto number = [](double v) {
    const long r = std::lround(v);
    return std::abs(v - r) < 1e-6 * std::max(1.0, v) ? std::to_string(r) : std::to_string(v);
  };
  if (length < 1) {
    plan.label = number(length * 1000) + " nm";
  } else if (length < 1000) {
    plan.label = number(length) + " \xC2\xB5m";
  } else {
    plan.label = number(length / 1000) + " mm";
  }
  return plan;
}

void DrawScaleBar(const ScaleBarPlan& plan, const ScaleBar& spec, Frame* frame) {
  const int w = frame->width, h = frame->height;
  const int scale = w >= 640 ? 2 : 1;  // font pixel size
  const int margin = 8 * scale, pad = 4 * scale, bar_h = std::max(3, 3 * scale);
  // The label, with µ drawn by the 'u' glyph.
  std::string text;
  for (size_t i = 0; i < plan.label.size(); ++i) {
    if (static_cast<uint8_t>(plan.label[i]) == 0xC2 && i + 1 < plan.label.size()) {
      text += 'u';
      ++i;
    } else {
      text += plan.label[i];
    }
  }
  const int text_w = static_cast<int>(text.size()) * 6 * scale - scale, text_h = 7 * scale;
  const int box_w = std::max(plan.length_px, text_w) + 2 * pad, box_h = text_h + bar_h + 3 * pad;
  const bool right = spec.corner == ScaleBar::Corner::kBottomRight || spec.corner == ScaleBar::Corner::kTopRight;
  const bool bottom = spec.corner == ScaleBar::Corner::kBottomRight || spec.corner == ScaleBar::Corner::kBottomLeft;
  const int x0 = right ? w - margin - box_w : margin;
  const int y0 = bottom ? h - margin - box_h : margin;  // screen rows, top down
  auto pixel = [&](int x, int y) -> uint8_t* {
    if (x < 0 || y < 0 || x >= w || y >= h) return nullptr;
    return frame->rgba.data() + (static_cast<size_t>(h - 1 - y) * w + x) * 4;  // rows bottom-up
  };
  const Rgba shade{0, 0, 0, 0.5f};
  for (int y = y0; y < y0 + box_h; ++y) {
    for (int x = x0; x < x0 + box_w; ++x) {
      if (uint8_t* p = pixel(x, y)) Blend(p, shade);
    }
  }
  // The label, centred over the bar.
  const int tx = x0 + (box_w - text_w) / 2, ty = y0 + pad;
  for (size_t i = 0; i < text.size(); ++i) {
    const Glyph* g = Find(text[i]);
    if (g == nullptr) continue;
    for (int r = 0; r < 7; ++r) {
      for (int c = 0; c < 5; ++c) {
        if (!(g->rows[r] >> (4 - c) & 1)) continue;
        for (int dy = 0; dy < scale; ++dy) {
          for (int dx = 0; dx < scale; ++dx) {
            if (uint8_t* p = pixel(tx + static_cast<int>(i) * 6 * scale + c * scale + dx, ty + r * scale + dy)) Blend(p, spec.color);
          }
        }
      }
    }
  }
  // The bar itself.
  const int bx = x0 + (box_w - plan.length_px) / 2, by = ty + text_h + pad;
  for (int y = by; y < by + bar_h; ++y) {
    for (int x = bx; x < bx + plan.length_px; ++x) {
      if (uint8_t* p = pixel(x, y)) Blend(p, spec.color);
    }
  }
  frame->scale_bar_um = plan.length_um;
}

}  // namespace tilerender
