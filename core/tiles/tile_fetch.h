#pragma once
/// Host pixels of GPU tiles: from the source's memory (no copy), from decoded chunks in the host
/// cache, or derived from the level below (binomial filter) and cached like a decoded chunk.
/// Thread-safe: the engine's workers fetch the tiles of a render in parallel.

#include <memory>
#include <vector>

#include "core/tiles/host_cache.h"
#include "core/tiles/tiled_image.h"
#include "core/tiles/worker_pool.h"

namespace tilerender {

/// A piece of a tile's pixels: `rect` (level pixels) at `pixels`, rows `stride` bytes apart.
struct TilePiece {
  const uint8_t* pixels = nullptr;
  size_t stride = 0;
  PixelRect rect;
};

/// Pieces that together cover one tile exactly, and what keeps their memory alive.
struct TileData {
  std::vector<TilePiece> pieces;
  std::vector<ChunkRef> keep;
};

/// Contiguous rows of a rectangle of one level (a view into memory or into `scratch`).
struct RectView {
  const uint8_t* pixels = nullptr;
  size_t stride = 0;
};

class TileFetcher {
 public:
  explicit TileFetcher(HostCache& cache) : cache_(cache) {}

  /// The pixels of tile (column, row) of a plane of `level`. A chunk that cannot be decoded is
  /// DATA_LOSS.
  Result<TileData> Fetch(const TiledImage& image, int level, int plane, int64_t column, int64_t row);

  /// The pixels of `rect` of a plane of `level`, as packed rows (copied into `scratch` unless the
  /// level is in memory).
  Result<RectView> ReadRect(const TiledImage& image, int level, int plane, const PixelRect& rect,
                            std::vector<uint8_t>* scratch);

  /// Decodes (or derives) the chunks of `rect` that are not cached, several at once on `pool`, and
  /// holds them in `keep`: a ReadRect after it only copies. The calling thread waits.
  Status Prefetch(const TiledImage& image, int level, int plane, const PixelRect& rect, WorkerPool& pool,
                  std::vector<ChunkRef>* keep);

  /// Host chunk (cx, cy) of a plane of `level` (the level's chunk grid), through the cache.
  Result<ChunkRef> Chunk(const TiledImage& image, int level, int plane, int64_t cx, int64_t cy);

 private:
  Result<std::shared_ptr<HostChunk>> Decode(const TiledImage& image, int level, int plane, int64_t cx, int64_t cy);
  Result<std::shared_ptr<HostChunk>> Derive(const TiledImage& image, int level, int plane, int64_t cx, int64_t cy);

  HostCache& cache_;
};

}  // namespace tilerender
