#include "core/gl/gl_objects.h"

#include <glad/gl.h>

#include <atomic>
#include <type_traits>

namespace tilerender::gl {

static_assert(std::is_same_v<Id, GLuint>, "gl::Id must be GLuint");

namespace {
std::atomic<int64_t> g_live_textures{0};
}  // namespace

void DeleteTexture(Id id) {
  glDeleteTextures(1, &id);
  g_live_textures.fetch_sub(1, std::memory_order_relaxed);
}
void DeleteFramebuffer(Id id) { glDeleteFramebuffers(1, &id); }
void DeleteRenderbuffer(Id id) { glDeleteRenderbuffers(1, &id); }
void DeleteBuffer(Id id) { glDeleteBuffers(1, &id); }
void DeleteVertexArray(Id id) { glDeleteVertexArrays(1, &id); }
void DeleteShader(Id id) { glDeleteShader(id); }
void DeleteProgram(Id id) { glDeleteProgram(id); }

Texture CreateTexture() {
  GLuint id = 0;
  glGenTextures(1, &id);
  if (id != 0) g_live_textures.fetch_add(1, std::memory_order_relaxed);
  return Texture(id);
}
Framebuffer CreateFramebuffer() {
  GLuint id = 0;
  glGenFramebuffers(1, &id);
  return Framebuffer(id);
}
Renderbuffer CreateRenderbuffer() {
  GLuint id = 0;
  glGenRenderbuffers(1, &id);
  return Renderbuffer(id);
}
Buffer CreateBuffer() {
  GLuint id = 0;
  glGenBuffers(1, &id);
  return Buffer(id);
}
VertexArray CreateVertexArray() {
  GLuint id = 0;
  glGenVertexArrays(1, &id);
  return VertexArray(id);
}

int64_t LiveTextureCount() { return g_live_textures.load(std::memory_order_relaxed); }

void AbandonTexture(Texture& texture) {
  if (texture.release() != 0) g_live_textures.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace tilerender::gl
