#pragma once
/// Validation and defaults of a render request, on the caller's thread, before anything is queued.
/// The result holds everything the render thread needs, already checked.

#include <array>
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
};

struct ResolvedRender {
  View view;
  std::vector<ResolvedLayer> layers;  ///< visible ones only
  Rgba background;
  std::optional<ScaleBar> scale_bar;
  ScaleBarPlan scale_bar_plan;        ///< when scale_bar is set
};

/// Whether every output pixel's sample falls exactly on a texel center of `level`: one level texel
/// per output pixel, unrotated, unstretched, the view's center a whole number of texels from the
/// output's center.
bool OnTexelGrid(const View& v, int level);

/// Default contrast limits of a channel of an image (DESIGN §3).
Contrast DefaultContrast(const ImageInfo& info, int channel = 0);

Result<ResolvedRender> ResolveRender(const RenderRequest& request, const EngineLimits& limits);

}  // namespace tilerender
