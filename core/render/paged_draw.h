#pragma once
/// A layer drawn through the tile caches. Before a render is queued, the tiles it needs that are
/// not on the GPU are read and decoded on the workers (PrepareLayer, on the caller's thread); on the
/// render thread the layer is drawn in batches whose tiles fit the GPU budget together, each batch
/// pinned while it is drawn (DrawLayerPaged). Tiles own disjoint parts of the screen, so batches
/// give the same pixels as one pass: a render never fails because an image is large or the budget
/// small, it only takes more page-ins.

#include <optional>
#include <vector>

#include "core/render/renderer.h"
#include "core/render/visible_tiles.h"
#include "core/tiles/gpu_cache.h"
#include "core/tiles/tile_fetch.h"
#include "core/tiles/worker_pool.h"

namespace tilerender {

struct PreparedLayer {
  std::vector<NeededTile> tiles;
  /// Host pixels of tiles that were not resident when the render was prepared (same indices).
  std::vector<std::optional<TileData>> data;
};

/// The tiles a layer needs, with the host pixels of those not resident now, fetched in parallel on
/// `pool` (the calling thread waits), up to `*prefetch_bytes` of them (decremented): a render held
/// in the queue keeps what it fetched, so what it may hold is bounded; the rest is fetched on the
/// render thread as its batch comes. DATA_LOSS when a tile cannot be decoded.
Result<PreparedLayer> PrepareLayer(const View& view, const ResolvedLayer& layer, const GpuTileCache& cache,
                                   TileFetcher& fetcher, WorkerPool& pool, int64_t* prefetch_bytes);

/// How many layers from `first` on are drawn in one composite pass (1: the layer alone): additive
/// layers of planes of one scalar image at the same level and interpolation, at most
/// kMaxCompositePlanes, as many as the GPU budget holds a tile group of together.
int CompositeRunLength(const std::vector<ResolvedLayer>& layers, size_t first, int64_t gpu_budget);

/// Draws prepared layers (render thread): one layer, or a composite run of them in one pass. Pages
/// missing tiles in (from the prepared pixels, or fetched again if a tile was evicted since), pins
/// each batch while it is drawn.
Status DrawLayersPaged(Renderer& renderer, GpuTileCache& cache, TileFetcher& fetcher, const View& view,
                       const std::vector<const ResolvedLayer*>& layers, const std::vector<PreparedLayer*>& prepared,
                       RenderTimings* timings);

/// The GPU tile budget a draw needs at least: one tile and the three neighbours its gutters are
/// copied from (four-byte texels, gutters included).
int64_t MinimumGpuBudget(int tile_size);

}  // namespace tilerender
