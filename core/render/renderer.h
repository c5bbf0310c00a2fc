#pragma once
/// Draws a resolved render into an offscreen framebuffer and reads it back. Render thread only.

#include <array>
#include <map>
#include <memory>
#include <string>

#include "core/gl/gl_objects.h"
#include "core/render/resolve.h"

namespace tilerender {

class Renderer {
 public:
  /// `pbo_readback`: read frames through a pixel-pack buffer (see EngineOptions).
  static Result<std::unique_ptr<Renderer>> Create(bool pbo_readback);

  /// Draws the visible tiles of every layer, waits for the GPU and reads the pixels back.
  Result<Frame> Draw(const ResolvedRender& render);

 private:
  struct Program {
    gl::Program program;
    std::map<std::string, int> uniforms;
    int operator[](const char* name) const { return uniforms.at(name); }
  };
  struct Target {
    int width = 0, height = 0;
    gl::Framebuffer fbo;
    gl::Renderbuffer color;
  };

  Renderer() = default;
  Status Bind(const Target& target);
  Result<const Target*> TargetFor(int width, int height);
  unsigned LutTexture(const Lut& lut);
  int DrawLayer(const View& view, const ResolvedLayer& layer);

  std::array<Program, 3> programs_;  // CHANNELS 1, 3, 4
  gl::VertexArray vao_;
  std::map<std::string, gl::Texture> lut_cache_;  // named colormaps
  gl::Texture custom_lut_;
  std::array<Target, 2> targets_;  // most recent sizes, so repeated sizes reuse their framebuffer
  int next_target_ = 0;
  bool pbo_readback_ = false;
  gl::Buffer pack_buffer_;
  size_t pack_buffer_size_ = 0;
};

}  // namespace tilerender
