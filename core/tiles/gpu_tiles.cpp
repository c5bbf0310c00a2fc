#include "core/tiles/gpu_tiles.h"

#include <glad/gl.h>

#include <algorithm>

#include "core/gl/program.h"

namespace tilerender {

GlFormat GlFormatFor(TexelLayout layout) {
  switch (layout) {
    case TexelLayout::kR8:
    case TexelLayout::kRgbAsR8: return {GL_R8, GL_RED, GL_UNSIGNED_BYTE};
    case TexelLayout::kR16: return {GL_R16, GL_RED, GL_UNSIGNED_SHORT};
    case TexelLayout::kR32F: return {GL_R32F, GL_RED, GL_FLOAT};
    case TexelLayout::kRgba8: return {GL_RGBA8, GL_RGBA, GL_UNSIGNED_BYTE};
  }
  return {GL_R8, GL_RED, GL_UNSIGNED_BYTE};
}

GpuTiles::GpuTiles(GridPlan plan) : plan_(std::move(plan)) {
  textures_.resize(plan_.levels.size());
  for (size_t l = 0; l < plan_.levels.size(); ++l) {
    textures_[l].resize(plan_.levels[l].columns() * plan_.levels[l].rows());
  }
}

void GpuTiles::Abandon() {
  for (auto& level : textures_) {
    for (gl::Texture& t : level) gl::AbandonTexture(t);
  }
}

Status GpuTiles::Allocate(int level, int64_t column, int64_t row) {
  const PixelRect rect = plan_.levels[level].Tile(column, row).texture;
  const GlFormat f = GlFormatFor(plan_.layout);
  gl::Texture tex = gl::CreateTexture();
  glBindTexture(GL_TEXTURE_2D, tex.get());
  // Shaders read with texelFetch and filter themselves; one level keeps the texture complete.
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAX_LEVEL, 0);
  const GLsizei w = static_cast<GLsizei>(rect.width() * TexelsPerPixelX(plan_.layout));
  const GLsizei h = static_cast<GLsizei>(rect.height());
  glTexStorage2D(GL_TEXTURE_2D, 1, f.internal_format, w, h);
  const std::string err = gl::TakeGlError();
  if (!err.empty()) {
    // GL_OUT_OF_MEMORY leaves undefined state: the texture is deleted and the load fails whole.
    const int64_t bytes = int64_t{w} * h * BytesPerTexel(plan_.layout);
    if (err == "GL_OUT_OF_MEMORY") {
      return ResourceExhausted("GPU out of memory allocating a " + std::to_string(w) + "x" +
                               std::to_string(h) + " tile (" + std::to_string(bytes) + " bytes)");
    }
    return Internal("glTexStorage2D " + std::to_string(w) + "x" + std::to_string(h) + ": " + err);
  }
  textures_[level][row * plan_.levels[level].columns() + column] = std::move(tex);
  return Status::Ok();
}

Status GpuTiles::Upload(int level, int64_t column, int64_t row, const uint8_t* pixels,
                        int64_t row_pixels) {
  TR_RETURN_IF_ERROR(Allocate(level, column, row));
  const PixelRect rect = plan_.levels[level].Tile(column, row).texture;
  return SubImage(level, column, row, 0, rect.height(), pixels, row_pixels);
}

Status GpuTiles::UploadRows(int level, int64_t y0, int64_t rows, const uint8_t* pixels,
                            int64_t row_pixels) {
  const LevelPlan& l = plan_.levels[level];
  const size_t bpp = static_cast<size_t>(BytesPerTexel(plan_.layout) * TexelsPerPixelX(plan_.layout));
  for (int64_t r = 0; r < l.rows(); ++r) {
    const PixelRect first = l.Tile(0, r).texture;
    const int64_t a = std::max(y0, first.y0), b = std::min(y0 + rows, first.y1);
    if (a >= b) continue;
    for (int64_t c = 0; c < l.columns(); ++c) {
      const PixelRect tex = l.Tile(c, r).texture;
      const uint8_t* p = pixels + static_cast<size_t>(a - y0) * row_pixels * bpp + static_cast<size_t>(tex.x0) * bpp;
      TR_RETURN_IF_ERROR(SubImage(level, c, r, a - tex.y0, b - a, p, row_pixels));
    }
  }
  return Status::Ok();
}

Status GpuTiles::SubImage(int level, int64_t column, int64_t row, int64_t y_offset, int64_t rows,
                          const uint8_t* pixels, int64_t row_pixels) {
  const PixelRect rect = plan_.levels[level].Tile(column, row).texture;
  const GlFormat f = GlFormatFor(plan_.layout);
  const int tpp = TexelsPerPixelX(plan_.layout);
  glBindTexture(GL_TEXTURE_2D, texture(level, column, row).get());
  // Pixel-store state is global: set all of it before every upload.
  glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
  glPixelStorei(GL_UNPACK_ROW_LENGTH, static_cast<GLint>(row_pixels * tpp));
  glPixelStorei(GL_UNPACK_SKIP_PIXELS, 0);
  glPixelStorei(GL_UNPACK_SKIP_ROWS, 0);
  glBindBuffer(GL_PIXEL_UNPACK_BUFFER, 0);
  glTexSubImage2D(GL_TEXTURE_2D, 0, 0, static_cast<GLint>(y_offset),
                  static_cast<GLsizei>(rect.width() * tpp), static_cast<GLsizei>(rows), f.format,
                  f.type, pixels);
  glPixelStorei(GL_UNPACK_ROW_LENGTH, 0);
  const std::string err = gl::TakeGlError();
  if (!err.empty()) {
    if (err == "GL_OUT_OF_MEMORY") return ResourceExhausted("GPU out of memory uploading a tile");
    return Internal("glTexSubImage2D: " + err);
  }
  return Status::Ok();
}

}  // namespace tilerender
