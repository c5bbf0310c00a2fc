#pragma once
/// Move-only RAII wrappers for GL objects. Created and destroyed on the render thread only.
/// The header stays free of GL headers: ids are plain unsigned ints (static_assert in the .cpp).

#include <cstdint>
#include <utility>

namespace tilerender::gl {

using Id = unsigned int;

/// One GL object name and the function that deletes it. An empty object (id 0) owns nothing.
template <void (*Delete)(Id)>
class Object {
 public:
  Object() = default;
  explicit Object(Id id) : id_(id) {}
  ~Object() { reset(); }
  Object(const Object&) = delete;
  Object& operator=(const Object&) = delete;
  Object(Object&& o) noexcept : id_(std::exchange(o.id_, 0)) {}
  Object& operator=(Object&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, 0);
    }
    return *this;
  }

  Id get() const { return id_; }
  explicit operator bool() const { return id_ != 0; }
  /// Gives up ownership without deleting (used when the context is already gone).
  Id release() { return std::exchange(id_, 0); }
  void reset() {
    if (id_ != 0) Delete(std::exchange(id_, 0));
  }

 private:
  Id id_ = 0;
};

void DeleteTexture(Id id);
void DeleteFramebuffer(Id id);
void DeleteRenderbuffer(Id id);
void DeleteBuffer(Id id);
void DeleteVertexArray(Id id);
void DeleteShader(Id id);
void DeleteProgram(Id id);

using Texture = Object<&DeleteTexture>;
using Framebuffer = Object<&DeleteFramebuffer>;
using Renderbuffer = Object<&DeleteRenderbuffer>;
using Buffer = Object<&DeleteBuffer>;
using VertexArray = Object<&DeleteVertexArray>;
using Shader = Object<&DeleteShader>;
using Program = Object<&DeleteProgram>;

Texture CreateTexture();
Framebuffer CreateFramebuffer();
Renderbuffer CreateRenderbuffer();
Buffer CreateBuffer();
VertexArray CreateVertexArray();

/// Textures alive in this process: a leak check for tests (load/unload must return it to zero).
int64_t LiveTextureCount();
/// Lets go of a texture whose context is already gone (no GL call), keeping the count right.
void AbandonTexture(Texture& texture);

}  // namespace tilerender::gl
