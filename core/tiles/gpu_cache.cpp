#include "core/tiles/gpu_cache.h"

#include <glad/gl.h>

#include "core/gl/gl_error.h"

namespace tilerender {

GlFormat GlFormatFor(TexelLayout layout) {
  switch (layout) {
    case TexelLayout::kR8:
    case TexelLayout::kRgbAsR8: return {GL_R8, GL_RED, GL_UNSIGNED_BYTE};
    case TexelLayout::kR16: return {GL_R16, GL_RED, GL_UNSIGNED_SHORT};
    case TexelLayout::kR32F: return {GL_R32F, GL_RED, GL_FLOAT};
    case TexelLayout::kRgba8: return {GL_RGBA8, GL_RGBA, GL_UNSIGNED_BYTE};
    case TexelLayout::kR8UI: return {GL_R8UI, GL_RED_INTEGER, GL_UNSIGNED_BYTE};
    case TexelLayout::kR16UI: return {GL_R16UI, GL_RED_INTEGER, GL_UNSIGNED_SHORT};
    case TexelLayout::kR32UI: return {GL_R32UI, GL_RED_INTEGER, GL_UNSIGNED_INT};
  }
  return {GL_R8, GL_RED, GL_UNSIGNED_BYTE};
}

GpuTileCache::~GpuTileCache() {
  // Textures die with their slots, on the render thread (or were abandoned).
  std::lock_guard lock(mu_);
  graveyard_.clear();
  slots_.clear();
}

gl::Id GpuTileCache::Pin(const TileKey& key) {
  std::lock_guard lock(mu_);
  auto it = slots_.find(key);
  if (it == slots_.end()) {
    ++misses_;
    return 0;
  }
  Slot& s = it->second;
  lru_.splice(lru_.begin(), lru_, s.lru);
  if (!s.pinned) {
    s.pinned = true;
    pinned_.push_back(key);
    pinned_bytes_ += s.bytes;
  }
  ++hits_;
  return s.texture.get();
}

void GpuTileCache::Account(const TileKey& key, int64_t bytes) {
  bytes_ += bytes;
  int64_t& b = image_bytes_[key.image];
  b += bytes;
  if (b == 0) image_bytes_.erase(key.image);
}

bool GpuTileCache::MakeRoom(int64_t bytes, int64_t w, int64_t h, TexelLayout layout, gl::Texture* reuse) {
  auto it = lru_.end();
  while (bytes_ + bytes > budget_ && it != lru_.begin()) {
    --it;
    auto s = slots_.find(*it);
    if (s->second.pinned) continue;
    Slot& slot = s->second;
    if (!*reuse && slot.width == w && slot.height == h && slot.layout == layout) {
      *reuse = std::move(slot.texture);
    }
    Account(*it, -slot.bytes);
    slots_.erase(s);  // deletes the texture unless it was taken for reuse
    it = lru_.erase(it);
    ++evictions_;
  }
  return bytes_ + bytes <= budget_;
}

Status GpuTileCache::Allocate(int64_t w, int64_t h, TexelLayout layout, gl::Texture* tex) {
  const GlFormat f = GlFormatFor(layout);
  gl::Texture t = gl::CreateTexture();
  glBindTexture(GL_TEXTURE_2D, t.get());
  // Shaders read with texelFetch and filter themselves; one level keeps the texture complete.
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAX_LEVEL, 0);
  glTexStorage2D(GL_TEXTURE_2D, 1, f.internal_format, static_cast<GLsizei>(w), static_cast<GLsizei>(h));
  const std::string what = "allocating a " + std::to_string(w) + "x" + std::to_string(h) + " tile texture";
  gl::GlError e = gl::TakeGlError();
  if (e == gl::GlError::kNone && fail_allocation_ && fail_allocation_()) e = gl::GlError::kOutOfMemory;
  // GL_OUT_OF_MEMORY leaves undefined state: the texture is deleted (t goes out of scope).
  TR_RETURN_IF_ERROR(gl::GlStatus(e, what));
  *tex = std::move(t);
  return Status::Ok();
}

void GpuTileCache::EvictUnpinned() {
  // Room for more than the whole budget: every unpinned tile goes (a 0 x 0 texture is never reused).
  gl::Texture none;
  MakeRoom(budget_ + 1, 0, 0, TexelLayout::kR8, &none);
}

Result<gl::Id> GpuTileCache::Insert(const TileKey& key, TexelLayout layout, const PixelRect& rect,
                                    int64_t texture_width, int64_t texture_height, const TileData& data) {
  const int tpp = TexelsPerPixelX(layout);
  const int64_t w = texture_width, h = texture_height;
  const int64_t bytes = w * h * BytesPerTexel(layout);
  const GlFormat f = GlFormatFor(layout);
  gl::Texture tex;
  // Dropped images' textures still hold memory: they go first (one of the right size is reused).
  {
    std::vector<Dead> dead;
    {
      std::lock_guard lock(mu_);
      dead.swap(graveyard_);
    }
    for (Dead& d : dead) {
      if (!tex && d.width == w && d.height == h && d.layout == layout) tex = std::move(d.texture);
    }
  }  // the others are deleted here
  {
    std::lock_guard lock(mu_);
    if (auto it = slots_.find(key); it != slots_.end()) {
      // Already resident (paged in for another layer of this render): pin it, nothing to upload.
      if (!it->second.pinned) {
        it->second.pinned = true;
        pinned_.push_back(key);
        pinned_bytes_ += it->second.bytes;
      }
      return it->second.texture.get();
    }
    if (!MakeRoom(bytes, w, h, layout, &tex)) {
      return ResourceExhausted("the GPU tile budget (" + std::to_string(budget_) + " bytes) cannot hold a " +
                               std::to_string(bytes) + "-byte tile beside the " + std::to_string(pinned_bytes_) +
                               " bytes of tiles this draw needs at once");
    }
  }
  if (!tex) {
    Status s = Allocate(w, h, layout, &tex);
    if (s.code() == StatusCode::kResourceExhausted) {
      // The driver has less memory than the budget assumed (another process, a budget set too
      // high): give back every tile this draw does not need and try once more.
      {
        std::lock_guard lock(mu_);
        ++out_of_memory_;
        EvictUnpinned();
      }
      s = Allocate(w, h, layout, &tex);
      if (!s.ok()) {
        std::lock_guard lock(mu_);
        if (s.code() == StatusCode::kResourceExhausted) ++out_of_memory_;
        return ResourceExhausted(s.message() + ", even with only the " + std::to_string(pinned_bytes_) +
                                 " bytes of tiles this draw needs resident");
      }
    }
    TR_RETURN_IF_ERROR(s);
  } else {
    glBindTexture(GL_TEXTURE_2D, tex.get());
  }
  // Pixel-store state is global: set all of it before every upload.
  glBindBuffer(GL_PIXEL_UNPACK_BUFFER, 0);
  glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
  glPixelStorei(GL_UNPACK_SKIP_PIXELS, 0);
  glPixelStorei(GL_UNPACK_SKIP_ROWS, 0);
  const int bpt = BytesPerTexel(layout);
  for (const TilePiece& p : data.pieces) {
    glPixelStorei(GL_UNPACK_ROW_LENGTH, static_cast<GLint>(p.stride / bpt));
    glTexSubImage2D(GL_TEXTURE_2D, 0, static_cast<GLint>((p.rect.x0 - rect.x0) * tpp), static_cast<GLint>(p.rect.y0 - rect.y0),
                    static_cast<GLsizei>(p.rect.width() * tpp), static_cast<GLsizei>(p.rect.height()), f.format, f.type,
                    p.pixels);
  }
  glPixelStorei(GL_UNPACK_ROW_LENGTH, 0);
  TR_RETURN_IF_ERROR(gl::CheckGl("uploading a tile"));
  const gl::Id id = tex.get();
  std::lock_guard lock(mu_);
  lru_.push_front(key);
  Slot& s = slots_[key];
  s.texture = std::move(tex);
  s.bytes = bytes;
  s.width = w;
  s.height = h;
  s.core_width = rect.width() * tpp;
  s.core_height = rect.height();
  s.layout = layout;
  s.gutters = 0;
  s.pinned = true;
  s.lru = lru_.begin();
  pinned_.push_back(key);
  pinned_bytes_ += bytes;
  Account(key, bytes);
  bytes_uploaded_ += bytes;
  return id;
}

Status GpuTileCache::FillGutters(const TileKey& key, gl::Id right, gl::Id below, gl::Id diag) {
  Slot* slot;
  {
    std::lock_guard lock(mu_);
    auto it = slots_.find(key);
    if (it == slots_.end()) return Internal("filling the gutters of a tile that is not resident");
    // Stable after the lock: map nodes do not move, this (render) thread is the only one that
    // evicts, and DropImage cannot erase it (the render drawing this tile holds its image).
    slot = &it->second;
  }
  const int tpp = TexelsPerPixelX(slot->layout);  // texels of one pixel
  struct Copy {
    uint8_t bit;
    gl::Id src;
    int64_t x, y, w, h;  // destination texels; the source starts at its (0, 0)
  } copies[3] = {{1, right, slot->core_width, 0, tpp, slot->core_height},
                 {2, below, 0, slot->core_height, slot->core_width, 1},
                 {4, diag, slot->core_width, slot->core_height, tpp, 1}};
  for (const Copy& c : copies) {
    if (c.src == 0 || (slot->gutters & c.bit) || c.x + c.w > slot->width || c.y + c.h > slot->height) continue;
    if (glCopyImageSubData != nullptr) {
      glCopyImageSubData(c.src, GL_TEXTURE_2D, 0, 0, 0, 0, slot->texture.get(), GL_TEXTURE_2D, 0, static_cast<GLint>(c.x),
                         static_cast<GLint>(c.y), 0, static_cast<GLsizei>(c.w), static_cast<GLsizei>(c.h), 1);
    } else {
      // GL 3.3: a blit between two framebuffers, with the caller's framebuffer restored after.
      GLint draw_fb = 0, read_fb = 0;
      glGetIntegerv(GL_DRAW_FRAMEBUFFER_BINDING, &draw_fb);
      glGetIntegerv(GL_READ_FRAMEBUFFER_BINDING, &read_fb);
      if (!copy_read_) copy_read_ = gl::CreateFramebuffer(), copy_draw_ = gl::CreateFramebuffer();
      glBindFramebuffer(GL_READ_FRAMEBUFFER, copy_read_.get());
      glFramebufferTexture2D(GL_READ_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, c.src, 0);
      glBindFramebuffer(GL_DRAW_FRAMEBUFFER, copy_draw_.get());
      glFramebufferTexture2D(GL_DRAW_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, slot->texture.get(), 0);
      glDisable(GL_SCISSOR_TEST);
      glBlitFramebuffer(0, 0, static_cast<GLint>(c.w), static_cast<GLint>(c.h), static_cast<GLint>(c.x),
                        static_cast<GLint>(c.y), static_cast<GLint>(c.x + c.w), static_cast<GLint>(c.y + c.h),
                        GL_COLOR_BUFFER_BIT, GL_NEAREST);
      glFramebufferTexture2D(GL_READ_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, 0, 0);
      glFramebufferTexture2D(GL_DRAW_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, 0, 0);
      glBindFramebuffer(GL_READ_FRAMEBUFFER, static_cast<GLuint>(read_fb));
      glBindFramebuffer(GL_DRAW_FRAMEBUFFER, static_cast<GLuint>(draw_fb));
    }
    slot->gutters |= c.bit;
  }
  return gl::CheckGl("copying a tile's gutters from its neighbours");
}

void GpuTileCache::UnpinAll() {
  std::lock_guard lock(mu_);
  for (const TileKey& k : pinned_) {
    if (auto it = slots_.find(k); it != slots_.end()) it->second.pinned = false;
  }
  pinned_.clear();
  pinned_bytes_ = 0;
}

void GpuTileCache::DropImage(uint64_t image) {
  std::lock_guard lock(mu_);
  for (auto it = lru_.begin(); it != lru_.end();) {
    if (it->image != image) {
      ++it;
      continue;
    }
    auto s = slots_.find(*it);
    Account(*it, -s->second.bytes);
    graveyard_.push_back({std::move(s->second.texture), s->second.width, s->second.height, s->second.layout});
    slots_.erase(s);
    it = lru_.erase(it);
  }
}

void GpuTileCache::Collect() {
  std::vector<Dead> dead;
  {
    std::lock_guard lock(mu_);
    dead.swap(graveyard_);
  }
  // Deleted here, on the render thread, outside the lock.
}

void GpuTileCache::Clear() {
  std::lock_guard lock(mu_);
  copy_read_.reset();
  copy_draw_.reset();
  graveyard_.clear();
  slots_.clear();
  lru_.clear();
  pinned_.clear();
  image_bytes_.clear();
  bytes_ = pinned_bytes_ = 0;
}

void GpuTileCache::Abandon() {
  std::lock_guard lock(mu_);
  for (auto& [key, slot] : slots_) gl::AbandonTexture(slot.texture);
  for (Dead& d : graveyard_) gl::AbandonTexture(d.texture);
  graveyard_.clear();
  copy_read_.release();
  copy_draw_.release();
  slots_.clear();
  lru_.clear();
  pinned_.clear();
  image_bytes_.clear();
  bytes_ = pinned_bytes_ = 0;
}

int64_t GpuTileCache::ImageBytes(uint64_t image) const {
  std::lock_guard lock(mu_);
  auto it = image_bytes_.find(image);
  return it == image_bytes_.end() ? 0 : it->second;
}

bool GpuTileCache::Resident(const TileKey& key) const {
  std::lock_guard lock(mu_);
  return slots_.count(key) != 0;
}

GpuCacheStats GpuTileCache::stats() const {
  std::lock_guard lock(mu_);
  GpuCacheStats s;
  s.budget_bytes = budget_;
  s.bytes = bytes_;
  s.tiles = static_cast<int64_t>(slots_.size());
  s.hits = hits_;
  s.misses = misses_;
  s.evictions = evictions_;
  s.bytes_uploaded = bytes_uploaded_;
  s.out_of_memory = out_of_memory_;
  return s;
}

}  // namespace tilerender
