#pragma once
/// Validation and defaults of a render request, on the caller's thread, before anything is queued.
/// The result holds everything the render thread needs, already checked.

#include <array>
#include <optional>
#include <vector>

#include "core/limits.h"
#include "core/render/colormap.h"
#include "core/render/render_request.h"
#include "core/render/scale_bar.h"
#include "core/render/view.h"
#include "core/tiles/tiled_image.h"

namespace tilerender {

struct ResolvedLayer {
  ImageHandle image;
  int channel = 0;  ///< plane
  int level = 0;
  Lut lut;
  std::array<float, 3> lo{};
  std::array<float, 3> range{};  ///< hi - lo, never 0; negative inverts
  std::array<float, 3> gamma{};
  float opacity = 1;
  Interpolation interpolation = Interpolation::kNearest;
  Blending blending = Blending::kTranslucent;
  int index = 0;  ///< in the request's layers
  /// Scalar layers: the limits lo/range came from (double), replaced by auto-contrast's.
  ContrastUsed contrast;
  std::optional<AutoContrast> auto_contrast;
  std::optional<LabelsStyle> labels;  ///< set for labels images (always nearest)
};

struct ResolvedRender {
  View view;
  std::vector<ResolvedLayer> layers;  ///< visible ones only
  Rgba background;
  std::optional<ScaleBar> scale_bar;
  ScaleBarPlan scale_bar_plan;        ///< when scale_bar is set
};

/// A view whose every output pixel samples exactly a texel centre of a level: one level texel per
/// output pixel, unstretched, turned by a multiple of 90 degrees (mirrored or not), the first
/// pixel's sample on a texel centre. Output pixel (u, w) (column, row from the top) samples texel
/// (x0 + ax u + bx w, y0 + ay u + by w), the a's and b's 0 or +-1.
struct TexelGridMap {
  int64_t x0 = 0, y0 = 0;
  int ax = 1, bx = 0, ay = 0, by = 1;
};

/// The view's texel grid map at `level`, if it is on that level's grid (the shader's positions are
/// then exact, so linear sampling puts all its weight on one texel: it is nearest sampling).
std::optional<TexelGridMap> TexelGrid(const View& v, int level);
inline bool OnTexelGrid(const View& v, int level) { return TexelGrid(v, level).has_value(); }

/// Default contrast limits of a channel of an image (DESIGN §3).
Contrast DefaultContrast(const ImageInfo& info, int channel = 0);

Result<ResolvedRender> ResolveRender(const RenderRequest& request, const EngineLimits& limits);

}  // namespace tilerender
