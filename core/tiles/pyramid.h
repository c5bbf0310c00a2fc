#pragma once
/// Builds pyramid levels on the GPU from the level below (binomial [1 3 3 1] / 8 filter and
/// halving, see shaders/downsample.frag), each level with its own tiles and gutters. Tile-size
/// invariant: every texel weighs the same source pixels whatever the tiling. Render thread only.

#include <array>
#include <memory>

#include "core/gl/gl_objects.h"
#include "core/tiles/gpu_tiles.h"

namespace tilerender {

class PyramidBuilder {
 public:
  static Result<std::unique_ptr<PyramidBuilder>> Create();

  /// Allocates and fills tile (column, row) of `level` (>= 1) from level - 1, which must be complete.
  Status BuildTile(GpuTiles& tiles, bool is_float, int level, int64_t column, int64_t row);

 private:
  PyramidBuilder() = default;
  struct Program {
    gl::Program program;
    int src, src_origin, src_core, src_size, dst_origin, is_float;
  };
  std::array<Program, 3> programs_;  // CHANNELS 1, 3, 4
  gl::Framebuffer fbo_;
  gl::VertexArray vao_;
};

}  // namespace tilerender
