#pragma once
/// The second half of a render: a frame read back from the GPU (premultiplied RGBA, rows bottom-up)
/// becomes a PNG or raw top-down straight-alpha RGBA. Runs on any thread, off the render thread.

#include "core/render/render_request.h"

namespace tilerender {

Result<RenderOutput> EncodeFrame(Frame frame, OutputFormat format, int png_level);

}  // namespace tilerender
