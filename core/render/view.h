#pragma once
/// The camera as a transform between world (image pixel) coordinates and screen (output pixel,
/// y down) coordinates (DESIGN §3): s = (W/2, H/2) + R(theta) * S * (p - c), where
/// S = diag(±zoom, zoom_y): zoom_y = zoom but for stretched regions, minus for a mirrored view.

#include <cstdint>

#include "core/render/render_request.h"
#include "core/status.h"

namespace tilerender {

struct Vec2 {
  double x = 0, y = 0;
};

struct View {
  int width = 0;
  int height = 0;
  double cx = 0, cy = 0;
  double zoom = 1;    ///< horizontal output pixels per world unit
  double zoom_y = 1;  ///< vertical; equal to zoom unless the camera stretches
  bool mirror = false;
  double cos_t = 1, sin_t = 0;  ///< exact for multiples of 90 degrees

  /// The zoom that decides the level of detail: the larger of the two (full detail along both).
  double detail_zoom() const { return zoom > zoom_y ? zoom : zoom_y; }
  /// Screen offset -> world offset, row-major [a b; c d] (the inverse of R(theta) S).
  void InverseMatrix(double m[4]) const;

  Vec2 ToScreen(Vec2 p) const;
  Vec2 ToWorld(Vec2 s) const;
};

/// A number as a message shows it: 9 significant digits (std::to_string prints 1e308 with 309).
std::string ShortNumber(double v);

/// Applies the camera's defaults for a world of world_w x world_h (center: its middle; zoom: fit) and
/// rejects non-finite values and zoom <= 0 with INVALID_ARGUMENT.
Result<View> ResolveView(const Camera& camera, int width, int height, double world_w,
                         double world_h);

/// Level of detail for a zoom: the level whose texels are closest to one output pixel,
/// round(log2(1 / zoom)) clamped to [0, level_count - 1].
int SelectLevel(double zoom, int level_count);

/// Whether the rectangle [x0, x1) x [y0, y1) in world units meets the (rotated) rectangle spanned
/// by the centres of the output pixels, where the samples are: a rectangle that only overlaps the
/// viewport's outer half pixel holds no sample (a tile-aligned view reads no neighbouring tile).
bool ReachesSamples(const View& view, double x0, double y0, double x1, double y1);

}  // namespace tilerender
