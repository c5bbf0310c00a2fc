#pragma once
/// The GPU tile cache: textures of tiles of any image and level, within a byte budget. Tiles are
/// paged in when a render needs them and evicted least recently used; the tiles of the draw in
/// progress are pinned. An evicted texture of the size a new tile needs is reused as it is (no
/// delete and re-create). Render thread only, except DropImage(), Resident(), ImageBytes() and
/// stats().

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/gl/gl_objects.h"
#include "core/status.h"
#include "core/tiles/tile_fetch.h"
#include "core/tiles/tile_grid.h"

namespace tilerender {

struct TileKey {
  uint64_t image = 0;
  int level = 0;
  int plane = 0;
  int64_t column = 0, row = 0;
  bool operator==(const TileKey&) const = default;
};

struct TileKeyHash {
  size_t operator()(const TileKey& k) const {
    return ChunkKeyHash()({k.image, k.level, k.plane, k.column, k.row});
  }
};

struct GpuCacheStats {
  int64_t budget_bytes = 0;
  int64_t bytes = 0;  ///< resident now (always <= budget_bytes)
  int64_t tiles = 0;
  int64_t hits = 0;   ///< a needed tile was resident
  int64_t misses = 0; ///< a needed tile was paged in
  int64_t evictions = 0;
  int64_t bytes_uploaded = 0;
  /// Tile textures the driver could not allocate (GL_OUT_OF_MEMORY: it had less memory than the
  /// budget assumed); each was retried once after evicting every unpinned tile.
  int64_t out_of_memory = 0;
};

/// GL formats of a texel layout.
struct GlFormat {
  unsigned internal_format;
  unsigned format;
  unsigned type;
};
GlFormat GlFormatFor(TexelLayout layout);

class GpuTileCache {
 public:
  /// `fail_allocation`: a test hook called after each tile texture allocation; true makes it fail as
  /// GL_OUT_OF_MEMORY would (the texture is deleted).
  explicit GpuTileCache(int64_t budget_bytes, std::function<bool()> fail_allocation = {})
      : budget_(budget_bytes), fail_allocation_(std::move(fail_allocation)) {}
  ~GpuTileCache();
  GpuTileCache(const GpuTileCache&) = delete;
  GpuTileCache& operator=(const GpuTileCache&) = delete;

  int64_t budget() const { return budget_; }
  /// Bytes that pinned tiles hold: what the draw in progress cannot give up.
  int64_t pinned_bytes() const { return pinned_bytes_; }

  /// The texture of a resident tile, pinned and made most recent; 0 when it is not resident.
  gl::Id Pin(const TileKey& key);
  /// Makes room (evicting unpinned tiles, least recently used first), makes a texture of
  /// `texture_width` x `texture_height` texels (the tile and its gutters), uploads `data` (tile
  /// `rect` of `layout`) at its origin, and pins it. RESOURCE_EXHAUSTED when pinned tiles leave no
  /// room, or when the driver is out of memory (GL_OUT_OF_MEMORY) even after every unpinned tile
  /// was evicted for a second try.
  Result<gl::Id> Insert(const TileKey& key, TexelLayout layout, const PixelRect& rect, int64_t texture_width,
                        int64_t texture_height, const TileData& data);
  /// Fills a resident tile's right gutter column, bottom gutter row and corner texel from the first
  /// column / row / texel of its neighbours' textures (0: leave that gutter), on the GPU; each gutter
  /// once per residency.
  Status FillGutters(const TileKey& key, gl::Id right, gl::Id below, gl::Id diag);
  /// Ends a draw: every tile becomes evictable again.
  void UnpinAll();
  /// Forgets every tile of an image (unloaded: none of its tiles is pinned or drawn), from any
  /// thread: its tiles leave the cache's count at once; their textures are deleted by the next
  /// Collect() or Insert() on the render thread (Insert collects before it allocates, so the
  /// textures alive never exceed the budget).
  void DropImage(uint64_t image);
  /// Deletes the textures of dropped images (render thread).
  void Collect();
  /// Frees every tile (render thread, before the context goes).
  void Clear();
  /// Forgets every texture without a GL call: the context is gone.
  void Abandon();

  /// Whether a tile is resident now (any thread; it may be evicted a moment later).
  bool Resident(const TileKey& key) const;
  /// Bytes of an image's tiles resident now (any thread).
  int64_t ImageBytes(uint64_t image) const;
  GpuCacheStats stats() const;

 private:
  struct Slot {
    gl::Texture texture;
    int64_t bytes = 0;
    int64_t width = 0, height = 0;            // texels, gutters included
    int64_t core_width = 0, core_height = 0;  // texels of the tile's own pixels
    TexelLayout layout = TexelLayout::kR8;
    bool pinned = false;
    uint8_t gutters = 0;  // filled: 1 right, 2 below, 4 corner
    std::list<TileKey>::iterator lru;
  };
  // Forgets a slot's bytes (the slot itself is erased by the caller). Lock held.
  void Account(const TileKey& key, int64_t bytes);
  // Evicts unpinned tiles until `bytes` more fit; a texture of (w, h, layout) evicted on the way
  // is handed back for reuse. Lock held.
  bool MakeRoom(int64_t bytes, int64_t w, int64_t h, TexelLayout layout, gl::Texture* reuse);
  // A new texture of w x h texels of `layout` (render thread); RESOURCE_EXHAUSTED when the driver
  // is out of memory.
  Status Allocate(int64_t w, int64_t h, TexelLayout layout, gl::Texture* tex);
  // Evicts every unpinned tile (the driver refused memory the budget promised). Lock held.
  void EvictUnpinned();

  const int64_t budget_;
  const std::function<bool()> fail_allocation_;
  mutable std::mutex mu_;  // the map and counters; GL calls happen only on the render thread
  std::unordered_map<TileKey, Slot, TileKeyHash> slots_;
  std::list<TileKey> lru_;  // front: most recently used
  std::vector<TileKey> pinned_;
  std::unordered_map<uint64_t, int64_t> image_bytes_;
  struct Dead {
    gl::Texture texture;
    int64_t width = 0, height = 0;
    TexelLayout layout = TexelLayout::kR8;
  };
  std::vector<Dead> graveyard_;  // dropped images' textures, to reuse or delete on the render thread
  gl::Framebuffer copy_read_, copy_draw_;  // gutter copies where glCopyImageSubData is missing (GL < 4.3)
  int64_t bytes_ = 0;
  int64_t pinned_bytes_ = 0;
  int64_t hits_ = 0, misses_ = 0, evictions_ = 0, bytes_uploaded_ = 0, out_of_memory_ = 0;
};

}  // namespace tilerender
