#pragma once
/// A scale bar drawn into a snapshot of an image with a known pixel size: a bar of a round length
/// (1, 2 or 5 x 10^n µm, about a fifth of the output's width) and its label ("50 µm", "2 mm",
/// "500 nm") in a corner, on a translucent dark box so it reads over any image. Drawn on the CPU
/// into the frame read back (a few thousand pixels), so it is exact and the same on every renderer.

#include <string>

#include "core/render/render_request.h"

namespace tilerender {

struct ScaleBarPlan {
  double length_um = 0;  ///< what the bar stands for
  int length_px = 0;     ///< its length on screen
  std::string label;     ///< e.g. "50 µm" (UTF-8)
};

/// The bar for `um_per_pixel` micrometres per output pixel and an output `width` pixels wide.
/// INVALID_ARGUMENT when no round length fits (absurd scales).
Result<ScaleBarPlan> PlanScaleBar(double um_per_pixel, int width);

/// Draws the bar into a frame (premultiplied RGBA, rows bottom-up, as read back).
void DrawScaleBar(const ScaleBarPlan& plan, const ScaleBar& spec, Frame* frame);

}  // namespace tilerender
