#pragma once
/// Draws tiles of resolved layers into an offscreen framebuffer and reads it back. Which tiles, and
/// their textures, come from the caller (the paged draw); this class only rasterises. Render
/// thread only.

#include <array>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/gl/gl_objects.h"
#include "core/render/auto_contrast.h"
#include "core/render/resolve.h"
#include "core/tiles/tile_grid.h"

namespace tilerender {

/// One tile to draw: its pixels (level coordinates) and its texture (gutters filled where its
/// bilinear footprints reach them).
struct DrawTile {
  PixelRect core;
  gl::Id texture = 0;
};

/// One tile of a one-pass composite: the same tile of each plane (same level, same grid).
struct CompositeTile {
  PixelRect core;
  std::array<gl::Id, 4> textures{};  ///< plane j's texture, j < the number of layers
};

/// The most layers one composite pass draws (texture units: a tile and a colormap per layer).
constexpr int kMaxCompositePlanes = 4;

class Renderer {
 public:
  /// `pbo_readback`: read frames through a pixel-pack buffer (see EngineOptions). `gather`: sample
  /// linear footprints with textureGather (the context must have GL 4.0 or ARB_texture_gather).
  /// `gpu_histogram`: take auto-contrast's percentiles with compute-shader histograms (GL 4.3);
  /// false: read the value pass back and select on the CPU. The limits are the same (tests).
  static Result<std::unique_ptr<Renderer>> Create(bool pbo_readback, bool gather, bool gpu_histogram = false);
  /// Whether the current context offers textureGather (GL 4.0 or ARB_texture_gather).
  static bool ContextHasGather();
  /// Whether the current context runs compute shaders (GL 4.3).
  static bool ContextHasCompute();

  /// Builds the program a layer needs beyond the ones made at start (labels), so that drawing
  /// cannot fail half way; call for every layer before Begin.
  Status PrepareLayerProgram(const ResolvedLayer& layer);
  /// Binds a framebuffer of the view's size and clears it to the background.
  Status Begin(const View& view, const Rgba& background);
  /// Draws tiles of one layer, blended over what is there. Tiles own disjoint parts of the
  /// screen, so a layer may be drawn in several calls (batches) with the same result.
  void DrawTiles(const View& view, const ResolvedLayer& layer, const std::vector<DrawTile>& tiles);
  /// Draws 2 to kMaxCompositePlanes additive layers of planes of one scalar image at one level and
  /// interpolation in one pass, byte-identical to drawing them one after the other (tile.frag).
  Status DrawComposite(const View& view, const std::vector<const ResolvedLayer*>& layers,
                       const std::vector<CompositeTile>& tiles);
  /// Waits for the GPU and reads the pixels back (draw and readback times in the frame's timings).
  Result<Frame> Finish(const View& view, bool has_alpha);

  /// The value pass of viewport auto-contrast: binds a float target of the view's size; DrawTiles
  /// of scalar layers then writes the data values the pixels show (same sampling as their colors)
  /// until FinishValues, which returns the percentiles lo_pct and hi_pct (0..100, numpy's linear
  /// method) of the finite values the layer shows (nullopt: none). Call before Begin, for one
  /// scalar layer.
  Status BeginValues(const View& view, const ResolvedLayer& layer);
  Result<std::optional<AutoLimits>> FinishValues(const View& view, double lo_pct, double hi_pct);

  /// Contour mode of a labels layer (after Begin): BeginIds binds an id target of the view's size;
  /// DrawTiles of the layer then writes the id each pixel shows; DrawContours draws the objects'
  /// borders from them into the frame (two full-screen passes, tile.frag CONTOUR).
  Status BeginIds(const View& view);
  Status DrawContours(const View& view, const ResolvedLayer& layer);

 private:
  struct Program {
    gl::Program program;
    std::map<std::string, int> uniforms;
    int operator[](const char* name) const { return uniforms.at(name); }
  };
  struct Target {
    int width = 0, height = 0;
    gl::Framebuffer fbo;
    gl::Renderbuffer color;
    gl::Texture texture;  ///< instead of `color` for a target a later pass reads
  };

  Renderer() = default;
  /// FinishValues' two ways: exact radix selection with compute histograms (histogram.comp), or
  /// a readback of every sample and a selection on the CPU.
  Result<std::optional<AutoLimits>> GpuPercentiles(const View& view, double lo_pct, double hi_pct);
  Result<std::optional<AutoLimits>> ReadbackPercentiles(const View& view, double lo_pct, double hi_pct);
  Result<const Target*> TargetFor(int width, int height);
  /// The colormap's texture; custom ones go to slot `slot` (one per layer of a composite).
  unsigned LutTexture(const Lut& lut, int slot = 0);
  /// Uniforms of the view, the level and the value type, shared by every program.
  void SetViewUniforms(const Program& p, const View& view, const ResolvedLayer& layer);
  void DrawQuads(const Program& p, const View& view, double scale, const PixelRect& core);

  /// The program's defines (tile.frag).
  std::vector<std::string> Defines(int channels, bool is_float, bool linear, int planes, bool values = false,
                                   bool labels = false, bool ids = false, int contour = 0) const;
  /// The program that draws `layer` now (its colors, its labels, or its values in a value pass);
  /// the labels and value-pass ones are built on first use.
  Result<const Program*> ProgramFor(const ResolvedLayer& layer);
  Result<const Program*> BuiltProgram(Program& slot, const std::vector<std::string>& defines);
  /// Contour pass 1 (rows) or 2 (columns, colors).
  Result<const Program*> ContourProgram(int pass);
  /// Seed, selection, color table and blend state of a labels layer drawn in color.
  void SetLabelsUniforms(const Program& p, const ResolvedLayer& layer);
  /// Colormap, contrast, gamma and the blend state of a layer drawn in color.
  void SetColorUniforms(const Program& p, const ResolvedLayer& layer);
  /// A framebuffer with one `format` renderbuffer (or texture) of width x height; `what` names it
  /// in errors.
  Status MakeTarget(Target* t, int width, int height, unsigned format, const char* what, bool texture = false);

  std::array<Program, 8> programs_;  // scalar integer, scalar float, RGB, RGBA x nearest, linear
  /// Composite programs, PLANES 2..kMaxCompositePlanes x integer, float x nearest, linear; built on
  /// first use.
  std::array<Program, 4 * (kMaxCompositePlanes - 1)> composite_programs_;
  bool gather_ = false;
  gl::VertexArray vao_;
  std::map<std::string, gl::Texture> lut_cache_;  // named colormaps
  std::array<gl::Texture, kMaxCompositePlanes> custom_luts_;
  /// Framebuffers up to this many pixels are kept for the next render of their size.
  static constexpr int64_t kKeptTargetPixels = int64_t{4096} * 4096;
  std::array<Target, 2> targets_;  // most recent sizes, so repeated sizes reuse their framebuffer
  int next_target_ = 0;
  bool pbo_readback_ = false;
  std::chrono::steady_clock::time_point begin_;  // of the frame being drawn
  gl::Buffer pack_buffer_;
  size_t pack_buffer_size_ = 0;
  std::array<Program, 4> value_programs_;  // integer, float x nearest, linear
  std::array<Program, 4> labels_programs_; // integer, float x colors, ids
  std::array<Program, 2> contour_programs_; // rows, columns
  Target values_target_;                   // RG32F: value, coverage (a texture)
  bool values_mode_ = false;
  bool gpu_histogram_ = false;
  std::array<gl::Program, 2> histogram_programs_;  // PASS 1, 2; built on first use
  gl::Buffer histogram_buffer_;            // 4 x 65536 counts
  Target ids_target_;                      // R32UI: the id each pixel shows (contour mode)
  Target minmax_target_;                   // RG32UI: the row pass's minimum and maximum id
  bool ids_mode_ = false;
  unsigned frame_fbo_ = 0;                 // the frame's framebuffer (Begin)
  gl::Texture table_ids_, table_colors_;   // the labels color table last uploaded
  std::vector<LabelColor> table_;
};

}  // namespace tilerender
