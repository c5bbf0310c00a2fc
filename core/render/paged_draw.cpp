#include "core/render/paged_draw.h"

#include <future>

namespace tilerender {

int64_t MinimumGpuBudget(int tile_size) { return int64_t{4} * (tile_size + 1) * (tile_size + 1) * 4; }

Result<PreparedLayer> PrepareLayer(const View& view, const ResolvedLayer& layer, const GpuTileCache& cache,
                                   TileFetcher& fetcher, WorkerPool& pool, int64_t* prefetch_bytes) {
  const TiledImage& image = *layer.image;
  const LevelPlan& level = image.plan().levels[layer.level];
  PreparedLayer out;
  out.tiles = NeededTiles(view, level, static_cast<double>(image.info().desc.width),
                          static_cast<double>(image.info().desc.height), layer.interpolation);
  out.data.resize(out.tiles.size());
  std::vector<std::pair<size_t, std::future<Result<TileData>>>> fetches;
  for (size_t i = 0; i < out.tiles.size(); ++i) {
    const NeededTile& t = out.tiles[i];
    if (cache.Resident({image.id(), layer.level, layer.channel, t.column, t.row})) continue;
    if (*prefetch_bytes <= 0) break;
    *prefetch_bytes -= image.plan().TileBytes(level, t.column, t.row);
    fetches.emplace_back(i, pool.Submit([&fetcher, &image, level = layer.level, plane = layer.channel, c = t.column,
                                         r = t.row] { return fetcher.Fetch(image, level, plane, c, r); }));
  }
  Status first;
  for (auto& [i, f] : fetches) {
    Result<TileData> d = f.get();  // every fetch waited for: they reference `image`
    if (d.ok()) {
      out.data[i] = std::move(d).value();
    } else if (first.ok()) {
      first = d.status();
    }
  }
  TR_RETURN_IF_ERROR(first);
  return out;
}

int CompositeRunLength(const std::vector<ResolvedLayer>& layers, size_t first, int64_t gpu_budget) {
  const ResolvedLayer& a = layers[first];
  if (a.blending != Blending::kAdditive || a.image->info().desc.channels != 1 || a.labels) return 1;
  const ImagePlan& plan = a.image->plan();
  // Every plane's tile and its three gutter neighbours pinned together (tile (0, 0) is a full one).
  const int64_t group = 4 * plan.TileBytes(plan.levels[a.level], 0, 0);
  size_t n = 1;
  while (first + n < layers.size() && static_cast<int>(n) < kMaxCompositePlanes) {
    const ResolvedLayer& b = layers[first + n];
    if (b.image != a.image || b.blending != Blending::kAdditive || b.level != a.level || b.interpolation != a.interpolation) break;
    if (static_cast<int64_t>(n + 1) * group > gpu_budget) break;
    ++n;
  }
  return static_cast<int>(n);
}

Status DrawLayersPaged(Renderer& renderer, GpuTileCache& cache, TileFetcher& fetcher, const View& view,
                       const std::vector<const ResolvedLayer*>& layers, const std::vector<PreparedLayer*>& prepared,
                       RenderTimings* timings) {
  const int n = static_cast<int>(layers.size());
  const TiledImage& image = *layers[0]->image;
  const ImagePlan& plan = image.plan();
  const int level_index = layers[0]->level;
  const LevelPlan& level = plan.levels[level_index];
  // The layers of a composite share image, level and interpolation: the same tiles, by index.
  const std::vector<NeededTile>& tiles = prepared[0]->tiles;
  std::vector<std::vector<gl::Id>> ids(n, std::vector<gl::Id>(tiles.size(), 0));  // pinned in the current batch
  std::vector<DrawTile> batch;
  std::vector<CompositeTile> composite_batch;

  auto flush = [&]() -> Status {
    if (n == 1) {
      renderer.DrawTiles(view, *layers[0], batch);
    } else {
      TR_RETURN_IF_ERROR(renderer.DrawComposite(view, layers, composite_batch));
    }
    timings->tiles_drawn += static_cast<int>(n == 1 ? batch.size() : composite_batch.size() * n);
    batch.clear();
    composite_batch.clear();
    cache.UnpinAll();
    for (auto& v : ids) std::fill(v.begin(), v.end(), 0);
    return Status::Ok();
  };
  auto key_of = [&](int j, int i) {
    return TileKey{image.id(), level_index, layers[j]->channel, tiles[i].column, tiles[i].row};
  };
  auto ensure = [&](int j, int i) -> Status {
    if (ids[j][i] != 0) return Status::Ok();
    const NeededTile& t = tiles[i];
    const TileKey key = key_of(j, i);
    if ((ids[j][i] = cache.Pin(key)) != 0) return Status::Ok();
    std::optional<TileData>& data = prepared[j]->data[i];
    if (!data) {
      // Resident when the render was prepared, evicted since: read it again, here.
      TR_ASSIGN_OR_RETURN(TileData d, fetcher.Fetch(image, level_index, layers[j]->channel, t.column, t.row));
      data = std::move(d);
    }
    TR_ASSIGN_OR_RETURN(ids[j][i], cache.Insert(key, plan.layout, level.Tile(t.column, t.row), plan.TextureWidth(level, t.column),
                                                plan.TextureHeight(level, t.row), *data));
    data.reset();  // uploaded: the host copy may go
    ++timings->tiles_paged_in;
    return Status::Ok();
  };
  auto bytes_of = [&](int j, int i) {
    return i < 0 || ids[j][i] != 0 ? 0 : plan.TileBytes(level, tiles[i].column, tiles[i].row);
  };

  for (size_t i = 0; i < tiles.size(); ++i) {
    const NeededTile& t = tiles[i];
    if (!t.drawn) continue;
    const int group[4] = {static_cast<int>(i), t.right, t.below, t.diag};
    int64_t more = 0;
    for (int j = 0; j < n; ++j) {
      for (int g : group) more += bytes_of(j, g);
    }
    if ((!batch.empty() || !composite_batch.empty()) && cache.pinned_bytes() + more > cache.budget()) {
      TR_RETURN_IF_ERROR(flush());
    }
    CompositeTile ct{level.Tile(t.column, t.row), {}};
    for (int j = 0; j < n; ++j) {
      for (int g : group) {
        if (g >= 0) TR_RETURN_IF_ERROR(ensure(j, g));
      }
      if (t.right >= 0 || t.below >= 0 || t.diag >= 0) {
        // The neighbours' first column and row, into this tile's gutters (once while resident).
        TR_RETURN_IF_ERROR(cache.FillGutters(key_of(j, static_cast<int>(i)), t.right >= 0 ? ids[j][t.right] : 0,
                                             t.below >= 0 ? ids[j][t.below] : 0, t.diag >= 0 ? ids[j][t.diag] : 0));
      }
      ct.textures[j] = ids[j][i];
    }
    if (n == 1) {
      batch.push_back({ct.core, ct.textures[0]});
    } else {
      composite_batch.push_back(ct);
    }
  }
  if (!batch.empty() || !composite_batch.empty()) TR_RETURN_IF_ERROR(flush());
  return Status::Ok();
}

}  // namespace tilerender
