#pragma once
/// A built-in synthetic image, for demos and first runs when no file is given: a uint16 zone plate
/// (rings whose frequency rises toward the edges, so aliasing would show at once when zoomed out)
/// with bright Gaussian "cells" scattered over it.

#include <memory>

#include "core/image/image_source.h"

namespace tilerender {

Result<std::unique_ptr<BufferSource>> MakeDemoImage(int64_t width, int64_t height);

}  // namespace tilerender
