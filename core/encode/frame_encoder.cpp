#include "core/encode/frame_encoder.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/encode/jpeg_encoder.h"
#include "core/encode/png_encoder.h"
#include "core/encode/webp_encoder.h"

namespace tilerender {

EncodeSpec EncodeSpecOf(const RenderRequest& request) {
  return {.format = request.format,
          .png_level = request.png_level,
          .quality = request.quality,
          .lossless = request.lossless,
          .tone = request.tone,
          .background = request.background};
}

namespace {

// Premultiplied RGBA over an opaque color, in place (alpha becomes 255): c + (1 - a) * bg.
void OverOpaque(uint8_t* px, size_t n, const Rgba& bg) {
  const unsigned b[3] = {static_cast<unsigned>(std::lround(std::clamp(bg.r, 0.f, 1.f) * 255)),
                         static_cast<unsigned>(std::lround(std::clamp(bg.g, 0.f, 1.f) * 255)),
                         static_cast<unsigned>(std::lround(std::clamp(bg.b, 0.f, 1.f) * 255))};
  for (size_t i = 0; i < n; ++i) {
    uint8_t* p = px + 4 * i;
    const unsigned inv = 255u - p[3];
    for (int c = 0; c < 3; ++c) p[c] = static_cast<uint8_t>(std::min(255u, p[c] + (inv * b[c] + 127) / 255));
    p[3] = 255;
  }
}

// Straight (or opaque) color to its luminance, or to black and white at half luminance.
void ApplyTone(uint8_t* px, size_t n, Tone tone) {
  if (tone == Tone::kColor) return;
  for (size_t i = 0; i < n; ++i) {
    uint8_t* p = px + 4 * i;
    // Rec. 601 luma in 1/256 steps: 77 R + 150 G + 29 B.
    unsigned y = (77u * p[0] + 150u * p[1] + 29u * p[2] + 128u) >> 8;
    if (tone == Tone::kBitonal) y = y >= 128 ? 255 : 0;
    p[0] = p[1] = p[2] = static_cast<uint8_t>(y);
  }
}

}  // namespace

Result<RenderOutput> EncodeFrame(Frame frame, const EncodeSpec& spec) {
  const OutputFormat format = spec.format;
  const auto t0 = std::chrono::steady_clock::now();
  RenderOutput out;
  out.format = format;
  out.width = frame.width;
  out.height = frame.height;
  out.has_alpha = frame.has_alpha;
  out.scale_bar_um = frame.scale_bar_um;
  out.contrasts = frame.contrasts;
  out.timings = frame.timings;
  uint8_t* px = frame.rgba.data();
  const size_t n = static_cast<size_t>(frame.width) * frame.height;
  const size_t stride = static_cast<size_t>(frame.width) * 4;
  if (format == OutputFormat::kJpeg) {
    if (frame.has_alpha) OverOpaque(px, n, spec.background);
    ApplyTone(px, n, spec.tone);
    out.has_alpha = false;
    TR_ASSIGN_OR_RETURN(out.data, EncodeJpeg(px, frame.width, frame.height, stride,
                                             {.quality = spec.quality.value_or(kDefaultJpegQuality), .bottom_up = true}));
    out.timings.encode_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return out;
  }
  if (frame.has_alpha) {
    // The framebuffer holds premultiplied color; PNG and raw output carry straight alpha.
    for (size_t i = 0; i < n; ++i) {
      uint8_t* p = px + 4 * i;
      const unsigned a = p[3];
      if (a == 0 || a == 255) continue;
      for (int c = 0; c < 3; ++c) p[c] = static_cast<uint8_t>(std::min(255u, (p[c] * 255u + a / 2) / a));
    }
  }
  ApplyTone(px, n, spec.tone);
  if (format == OutputFormat::kPng) {
    TR_ASSIGN_OR_RETURN(out.data, EncodePng(px, frame.width, frame.height, stride,
                                            {.level = spec.png_level, .write_alpha = frame.has_alpha, .bottom_up = true}));
  } else if (format == OutputFormat::kWebp) {
    // Rows bottom-up: start at the last one, step back.
    const uint8_t* top = px + static_cast<size_t>(frame.height - 1) * stride;
    TR_ASSIGN_OR_RETURN(out.data, EncodeWebp(top, frame.width, frame.height, -static_cast<std::ptrdiff_t>(stride),
                                                     {.quality = spec.quality.value_or(kDefaultWebpQuality),
                                                      .lossless = spec.lossless,
                                                      .write_alpha = frame.has_alpha}));
  } else {
    out.data.resize(frame.rgba.size());
    for (int y = 0; y < frame.height; ++y) {
      std::copy_n(px + static_cast<size_t>(frame.height - 1 - y) * stride, stride,
                  out.data.data() + static_cast<size_t>(y) * stride);
    }
  }
  out.timings.encode_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace tilerender
