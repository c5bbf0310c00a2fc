#pragma once
/// Raw values of an image at world points (DESIGN §3 "Probe and profile"): what a pixel probe under
/// a cursor and a line profile show. Read from the host cache (the source's own chunks, or derived
/// levels' chunks), never from the GPU: exact stored values, not colors. No GL.

#include <vector>

#include "core/render/render_request.h"
#include "core/status.h"
#include "core/tiles/tile_fetch.h"

namespace tilerender {

struct WorldPoint {
  double x = 0;  ///< level-0 pixel coordinates: pixel (i, j) covers [i, i+1) x [j, j+1)
  double y = 0;
};

struct ValueSample {
  bool inside = false;         ///< the point lies in the image; else `values` is empty (absent)
  std::vector<double> values;  ///< one per color channel (scalar 1, RGB 3, RGBA 4), NaN as stored
};

struct SampleOptions {
  int plane = 0;  ///< which plane (channel) of an image of several
  int level = 0;  ///< pyramid level (index in ImageInfo::level_info)
  /// nearest: the value of the level pixel containing the point; linear: bilinear between pixel
  /// centers, clamped to the edge pixels, NaN taps left out and the others' weights renormalised
  /// (all NaN: NaN), as the pyramid treats NaN.
  Interpolation interpolation = Interpolation::kNearest;
};

/// At most this many points per call.
inline constexpr size_t kMaxSamplePoints = 65536;

/// The values of `image` at `points`. INVALID_ARGUMENT for a bad plane, level or too many points;
/// DATA_LOSS when a chunk cannot be read; CANCELLED when `cancelled` says so between chunks.
Result<std::vector<ValueSample>> SampleValues(TileFetcher& fetcher, const TiledImage& image, const SampleOptions& options,
                                              const std::vector<WorldPoint>& points, const CancelFn& cancelled = {});

/// `samples` points evenly spaced from `from` to `to`, both included (one: `from`).
std::vector<WorldPoint> LinePoints(WorldPoint from, WorldPoint to, int samples);

}  // namespace tilerender
