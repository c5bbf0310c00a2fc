#pragma once
/// GL errors as an enum (never compared as strings) and their one mapping to a Status.

#include <cstdint>
#include <string>

#include "core/status.h"

namespace tilerender::gl {

enum class GlError : uint8_t {
  kNone,
  kInvalidEnum,
  kInvalidValue,
  kInvalidOperation,
  kInvalidFramebufferOperation,
  kOutOfMemory,
  kOther,
};

/// The first pending GL error; clears the whole error queue.
GlError TakeGlError();
const char* GlErrorName(GlError e);  ///< "GL_OUT_OF_MEMORY", ...

/// OK for kNone; RESOURCE_EXHAUSTED for kOutOfMemory (GL_OUT_OF_MEMORY leaves undefined state: the
/// caller deletes what it was making); INTERNAL otherwise. The message is "<what>: <error name>".
Status GlStatus(GlError e, const std::string& what);

/// TakeGlError() turned into a Status.
inline Status CheckGl(const std::string& what) { return GlStatus(TakeGlError(), what); }

}  // namespace tilerender::gl
