#pragma once
/// The limits an engine runs under, after the driver's maxima were applied (GetServerInfo reports
/// them). The lowest layer: render validation, the caches and the engine all read it.

#include <cstdint>

#include "core/image/image_desc.h"

namespace tilerender {

struct EngineLimits {
  int tile_size = 0;                ///< GPU tile side in pixels
  int max_texture_size = 0;         ///< GL_MAX_TEXTURE_SIZE
  int64_t gpu_budget_bytes = 0;     ///< GPU tile cache
  int64_t host_cache_bytes = 0;     ///< host cache of decoded tiles
  int max_output_side = 0;
  int64_t max_output_pixels = 0;
  int max_queue_depth = 0;
  int max_layers = 0;  ///< layers of one render
  ImageLimits image;
};

}  // namespace tilerender
