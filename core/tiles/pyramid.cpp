#include "core/tiles/pyramid.h"

#include <glad/gl.h>

#include <algorithm>

#include "core/gl/program.h"

namespace tilerender {

Result<std::unique_ptr<PyramidBuilder>> PyramidBuilder::Create() {
  std::unique_ptr<PyramidBuilder> b(new PyramidBuilder());
  const int channels[3] = {1, 3, 4};
  for (int i = 0; i < 3; ++i) {
    Program& p = b->programs_[i];
    TR_ASSIGN_OR_RETURN(p.program, gl::BuildProgram("fullscreen.vert", "downsample.frag",
                                                    {"CHANNELS " + std::to_string(channels[i])}));
    const GLuint id = p.program.get();
    p.src = glGetUniformLocation(id, "u_src");
    p.src_origin = glGetUniformLocation(id, "u_src_origin");
    p.src_core = glGetUniformLocation(id, "u_src_core");
    p.src_size = glGetUniformLocation(id, "u_src_size");
    p.dst_origin = glGetUniformLocation(id, "u_dst_origin");
    p.is_float = glGetUniformLocation(id, "u_float");
  }
  b->fbo_ = gl::CreateFramebuffer();
  b->vao_ = gl::CreateVertexArray();
  const std::string err = gl::TakeGlError();
  if (!err.empty()) return Internal("pyramid builder setup: " + err);
  return b;
}

Status PyramidBuilder::BuildTile(GpuTiles& tiles, bool is_float, int level, int64_t column,
                                 int64_t row) {
  TR_RETURN_IF_ERROR(tiles.Allocate(level, column, row));
  const GridPlan& plan = tiles.plan();
  const LevelPlan& src_level = plan.levels[level - 1];
  const TilePlan dst = plan.levels[level].Tile(column, row);
  const int tpp = TexelsPerPixelX(plan.layout);
  const Program& p = programs_[tpp == 3 ? 1 : plan.layout == TexelLayout::kRgba8 ? 2 : 0];

  glBindFramebuffer(GL_FRAMEBUFFER, fbo_.get());
  glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D,
                         tiles.texture(level, column, row).get(), 0);
  const GLenum fb = glCheckFramebufferStatus(GL_FRAMEBUFFER);
  if (fb != GL_FRAMEBUFFER_COMPLETE) {
    return Internal("pyramid framebuffer incomplete (0x" + std::to_string(fb) + ")");
  }
  const int tex_w = static_cast<int>(dst.texture.width() * tpp);
  const int tex_h = static_cast<int>(dst.texture.height());
  glViewport(0, 0, tex_w, tex_h);
  glDisable(GL_BLEND);
  glEnable(GL_SCISSOR_TEST);
  glUseProgram(p.program.get());
  glBindVertexArray(vao_.get());
  glActiveTexture(GL_TEXTURE0);
  glUniform1i(p.src, 0);
  glUniform1i(p.is_float, is_float);
  glUniform2i(p.src_size, static_cast<int>(src_level.width), static_cast<int>(src_level.height));
  glUniform2i(p.dst_origin, static_cast<int>(dst.texture.x0), static_cast<int>(dst.texture.y0));

  // Destination texels [x0, x1) have their 2x2 blocks start at 2*x0 .. 2*x1 - 2 in the level below.
  for (int64_t r = 0; r < src_level.rows(); ++r) {
    for (int64_t c = 0; c < src_level.columns(); ++c) {
      const TilePlan src = src_level.Tile(c, r);
      // Destination pixels whose block starts in this source core: ceil(core.x0 / 2) .. .
      const int64_t dx0 = std::max((src.core.x0 + 1) / 2, dst.texture.x0);
      const int64_t dx1 = std::min((src.core.x1 + 1) / 2, dst.texture.x1);
      const int64_t dy0 = std::max((src.core.y0 + 1) / 2, dst.texture.y0);
      const int64_t dy1 = std::min((src.core.y1 + 1) / 2, dst.texture.y1);
      if (dx0 >= dx1 || dy0 >= dy1) continue;
      glScissor(static_cast<GLint>((dx0 - dst.texture.x0) * tpp),
                static_cast<GLint>(dy0 - dst.texture.y0), static_cast<GLsizei>((dx1 - dx0) * tpp),
                static_cast<GLsizei>(dy1 - dy0));
      glUniform2i(p.src_origin, static_cast<int>(src.texture.x0), static_cast<int>(src.texture.y0));
      glUniform4i(p.src_core, static_cast<int>(src.core.x0), static_cast<int>(src.core.y0),
                  static_cast<int>(src.core.x1), static_cast<int>(src.core.y1));
      glBindTexture(GL_TEXTURE_2D, tiles.texture(level - 1, c, r).get());
      glDrawArrays(GL_TRIANGLE_STRIP, 0, 4);
    }
  }
  glDisable(GL_SCISSOR_TEST);
  glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, 0, 0);
  const std::string err = gl::TakeGlError();
  if (!err.empty()) {
    if (err == "GL_OUT_OF_MEMORY") return ResourceExhausted("GPU out of memory building a pyramid");
    return Internal("pyramid level " + std::to_string(level) + ": " + err);
  }
  return Status::Ok();
}

}  // namespace tilerender
