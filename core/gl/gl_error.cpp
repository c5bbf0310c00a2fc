#include "core/gl/gl_error.h"

#include <glad/gl.h>

namespace tilerender::gl {

GlError TakeGlError() {
  GlError first = GlError::kNone;
  for (GLenum e; (e = glGetError()) != GL_NO_ERROR;) {
    if (first != GlError::kNone) continue;
    switch (e) {
      case GL_INVALID_ENUM: first = GlError::kInvalidEnum; break;
      case GL_INVALID_VALUE: first = GlError::kInvalidValue; break;
      case GL_INVALID_OPERATION: first = GlError::kInvalidOperation; break;
      case GL_INVALID_FRAMEBUFFER_OPERATION: first = GlError::kInvalidFramebufferOperation; break;
      case GL_OUT_OF_MEMORY: first = GlError::kOutOfMemory; break;
      default: first = GlError::kOther;
    }
  }
  return first;
}

const char* GlErrorName(GlError e) {
  switch (e) {
    case GlError::kNone: return "GL_NO_ERROR";
    case GlError::kInvalidEnum: return "GL_INVALID_ENUM";
    case GlError::kInvalidValue: return "GL_INVALID_VALUE";
    case GlError::kInvalidOperation: return "GL_INVALID_OPERATION";
    case GlError::kInvalidFramebufferOperation: return "GL_INVALID_FRAMEBUFFER_OPERATION";
    case GlError::kOutOfMemory: return "GL_OUT_OF_MEMORY";
    case GlError::kOther: return "GL error";
  }
  return "GL error";
}

Status GlStatus(GlError e, const std::string& what) {
  switch (e) {
    case GlError::kNone: return Status::Ok();
    case GlError::kOutOfMemory: return ResourceExhausted("GPU out of memory: " + what);
    default: return Internal(what + ": " + GlErrorName(e));
  }
}

}  // namespace tilerender::gl
