#include "core/tiles/tile_fetch.h"

#include <algorithm>
#include <cstring>

#include "core/tiles/downsample.h"

namespace tilerender {

Result<ChunkRef> TileFetcher::Chunk(const TiledImage& image, int level, int plane, int64_t cx, int64_t cy) {
  const bool derived = !image.plan().levels[level].from_source();
  return cache_.Get({image.id(), level, plane, cx, cy}, [&] {
    return derived ? Derive(image, level, plane, cx, cy) : Decode(image, level, plane, cx, cy);
  });
}

Result<std::shared_ptr<HostChunk>> TileFetcher::Decode(const TiledImage& image, int level, int plane, int64_t cx,
                                                       int64_t cy) {
  const LevelPlan& l = image.plan().levels[level];
  const size_t bpp = image.info().desc.bytes_per_pixel();
  TR_ASSIGN_OR_RETURN(std::shared_ptr<HostChunk> chunk,
                      HostChunk::Allocate(static_cast<size_t>(l.chunk_width) * bpp, l.chunk_height));
  TR_RETURN_IF_ERROR(image.source().ReadChunk(l.source_index, plane, cx, cy, chunk->data, chunk->stride));
  return chunk;
}

Result<std::shared_ptr<HostChunk>> TileFetcher::Derive(const TiledImage& image, int level, int plane, int64_t cx,
                                                       int64_t cy) {
  const LevelPlan& l = image.plan().levels[level];
  const LevelPlan& below = image.plan().levels[level - 1];
  const ImageDesc& desc = image.info().desc;
  const PixelRect dst = l.Chunk(cx, cy);
  const PixelRect src = image.info().labels ? LabelsSource(dst, below.width, below.height)
                                            : DownsampleSource(dst, below.width, below.height);
  std::vector<uint8_t> scratch;
  TR_ASSIGN_OR_RETURN(RectView view, ReadRect(image, level - 1, plane, src, &scratch));
  const size_t stride = static_cast<size_t>(dst.width()) * desc.bytes_per_pixel();
  TR_ASSIGN_OR_RETURN(std::shared_ptr<HostChunk> chunk, HostChunk::Allocate(stride, dst.height()));
  if (image.info().labels) {
    DownsampleLabels(desc, view.pixels, view.stride, src, below.width, below.height, dst, chunk->data, stride);
  } else {
    Downsample(desc, view.pixels, view.stride, src, below.width, below.height, dst, chunk->data, stride);
  }
  return chunk;
}

Result<RectView> TileFetcher::ReadRect(const TiledImage& image, int level, int plane, const PixelRect& rect,
                                       std::vector<uint8_t>* scratch) {
  const LevelPlan& l = image.plan().levels[level];
  const size_t bpp = image.info().desc.bytes_per_pixel();
  if (l.from_source()) {
    if (const uint8_t* whole = image.source().contiguous(l.source_index, plane)) {
      const size_t stride = static_cast<size_t>(l.width) * bpp;
      return RectView{whole + static_cast<size_t>(rect.y0) * stride + static_cast<size_t>(rect.x0) * bpp, stride};
    }
  }
  const size_t stride = static_cast<size_t>(rect.width()) * bpp;
  for (int64_t cy = rect.y0 / l.chunk_height; cy * l.chunk_height < rect.y1; ++cy) {
    for (int64_t cx = rect.x0 / l.chunk_width; cx * l.chunk_width < rect.x1; ++cx) {
      TR_ASSIGN_OR_RETURN(ChunkRef chunk, Chunk(image, level, plane, cx, cy));
      // The copy's memory once the first chunk has proved it exists (a store claiming huge chunks
      // costs nothing when its chunk does not decode).
      scratch->resize(stride * static_cast<size_t>(rect.height()));
      const PixelRect c = l.Chunk(cx, cy);
      const PixelRect part = c.Intersect(rect);
      for (int64_t y = part.y0; y < part.y1; ++y) {
        std::memcpy(scratch->data() + static_cast<size_t>(y - rect.y0) * stride + static_cast<size_t>(part.x0 - rect.x0) * bpp,
                    chunk->data + static_cast<size_t>(y - c.y0) * chunk->stride + static_cast<size_t>(part.x0 - c.x0) * bpp,
                    static_cast<size_t>(part.width()) * bpp);
      }
    }
  }
  return RectView{scratch->data(), stride};
}

Status TileFetcher::Prefetch(const TiledImage& image, int level, int plane, const PixelRect& rect, WorkerPool& pool,
                             std::vector<ChunkRef>* keep) {
  const LevelPlan& l = image.plan().levels[level];
  if (l.from_source() && image.source().contiguous(l.source_index, plane) != nullptr) return Status::Ok();
  std::vector<std::future<Result<ChunkRef>>> chunks;
  for (int64_t cy = rect.y0 / l.chunk_height; cy * l.chunk_height < rect.y1; ++cy) {
    for (int64_t cx = rect.x0 / l.chunk_width; cx * l.chunk_width < rect.x1; ++cx) {
      chunks.push_back(pool.Submit([this, &image, level, plane, cx, cy] { return Chunk(image, level, plane, cx, cy); }));
    }
  }
  Status first;
  for (auto& f : chunks) {  // every one waited for: they reference `image`
    Result<ChunkRef> c = f.get();
    if (c.ok()) {
      keep->push_back(std::move(c).value());
    } else if (first.ok()) {
      first = c.status();
    }
  }
  return first;
}

Result<TileData> TileFetcher::Fetch(const TiledImage& image, int level, int plane, int64_t column, int64_t row) {
  const LevelPlan& l = image.plan().levels[level];
  const size_t bpp = image.info().desc.bytes_per_pixel();
  const PixelRect tile = l.Tile(column, row);
  TileData data;
  if (l.from_source()) {
    if (const uint8_t* whole = image.source().contiguous(l.source_index, plane)) {
      const size_t stride = static_cast<size_t>(l.width) * bpp;
      data.pieces.push_back({whole + static_cast<size_t>(tile.y0) * stride + static_cast<size_t>(tile.x0) * bpp, stride, tile});
      return data;
    }
  }
  for (int64_t cy = tile.y0 / l.chunk_height; cy * l.chunk_height < tile.y1; ++cy) {
    for (int64_t cx = tile.x0 / l.chunk_width; cx * l.chunk_width < tile.x1; ++cx) {
      TR_ASSIGN_OR_RETURN(ChunkRef chunk, Chunk(image, level, plane, cx, cy));
      const PixelRect c = l.Chunk(cx, cy);
      const PixelRect part = c.Intersect(tile);
      data.pieces.push_back({chunk->data + static_cast<size_t>(part.y0 - c.y0) * chunk->stride +
                                 static_cast<size_t>(part.x0 - c.x0) * bpp,
                             chunk->stride, part});
      data.keep.push_back(std::move(chunk));
    }
  }
  return data;
}

}  // namespace tilerender
