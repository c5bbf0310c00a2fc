#pragma once
/// Shader programs built from the embedded shaders/ sources, with variants by prepended #defines.

#include <string>
#include <string_view>
#include <vector>

#include "core/gl/gl_objects.h"
#include "core/status.h"

namespace tilerender::gl {

/// Compiles vertex + fragment shader (names of files in shaders/) with `defines` ("NAME VALUE" each)
/// and links them. Compile and link failures carry the driver's info log.
Result<Program> BuildProgram(std::string_view vertex_name, std::string_view fragment_name,
                             const std::vector<std::string>& defines);
/// A compute program (GLSL 4.30: the context must have GL 4.3).
Result<Program> BuildComputeProgram(std::string_view name, const std::vector<std::string>& defines);

}  // namespace tilerender::gl
