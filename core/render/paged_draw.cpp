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

Status DrawLayerPaged(Renderer& renderer, GpuTileCache& cache, TileFetcher& fetcher, const View& view,
                      const ResolvedLayer& layer, PreparedLayer& prepared, RenderTimings* timings) {
  const TiledImage& image = *layer.image;
  const ImagePlan& plan = image.plan();
  const LevelPlan& level = plan.levels[layer.level];
  const std::vector<NeededTile>& tiles = prepared.tiles;
  std::vector<gl::Id> ids(tiles.size(), 0);  // pinned in the current batch
  std::vector<DrawTile> batch;

  auto flush = [&] {
    renderer.DrawTiles(view, layer, batch);
    timings->tiles_drawn += static_cast<int>(batch.size());
    batch.clear();
    cache.UnpinAll();
    std::fill(ids.begin(), ids.end(), 0);
  };
  auto ensure = [&](int i) -> Status {
    if (ids[i] != 0) return Status::Ok();
    const NeededTile& t = tiles[i];
    const TileKey key{image.id(), layer.level, layer.channel, t.column, t.row};
    if ((ids[i] = cache.Pin(key)) != 0) return Status::Ok();
    std::optional<TileData>& data = prepared.data[i];
    if (!data) {
      // Resident when the render was prepared, evicted since: read it again, here.
      TR_ASSIGN_OR_RETURN(TileData d, fetcher.Fetch(image, layer.level, layer.channel, t.column, t.row));
      data = std::move(d);
    }
    TR_ASSIGN_OR_RETURN(ids[i], cache.Insert(key, plan.layout, level.Tile(t.column, t.row), plan.TextureWidth(level, t.column),
                                             plan.TextureHeight(level, t.row), *data));
    data.reset();  // uploaded: the host copy may go
    ++timings->tiles_paged_in;
    return Status::Ok();
  };
  auto bytes_of = [&](int i) { return i < 0 || ids[i] != 0 ? 0 : plan.TileBytes(level, tiles[i].column, tiles[i].row); };

  for (size_t i = 0; i < tiles.size(); ++i) {
    const NeededTile& t = tiles[i];
    if (!t.drawn) continue;
    const int group[4] = {static_cast<int>(i), t.right, t.below, t.diag};
    int64_t more = 0;
    for (int g : group) more += bytes_of(g);
    if (!batch.empty() && cache.pinned_bytes() + more > cache.budget()) flush();
    for (int g : group) {
      if (g >= 0) TR_RETURN_IF_ERROR(ensure(g));
    }
    if (t.right >= 0 || t.below >= 0 || t.diag >= 0) {
      // The neighbours' first column and row, into this tile's gutters (once while resident).
      TR_RETURN_IF_ERROR(cache.FillGutters({image.id(), layer.level, layer.channel, t.column, t.row}, t.right >= 0 ? ids[t.right] : 0,
                                           t.below >= 0 ? ids[t.below] : 0, t.diag >= 0 ? ids[t.diag] : 0));
    }
    batch.push_back({level.Tile(t.column, t.row), ids[i]});
  }
  if (!batch.empty()) flush();
  return Status::Ok();
}

}  // namespace tilerender
