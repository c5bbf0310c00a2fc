#pragma once
/// What a render asks for (DESIGN §3): output size, camera, layers, background, output format.

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "core/render/colormap.h"
#include "core/status.h"
#include "core/tiles/tiled_image.h"

namespace tilerender {

enum class Interpolation : uint8_t { kNearest, kLinear };
enum class Blending : uint8_t { kTranslucent, kAdditive, kOpaque, kMinimum, kMaximum };
enum class OutputFormat : uint8_t { kPng, kRawRgba8, kJpeg, kWebp };
/// Color, or the luminance (Rec. 601 weights) of the rendered color, or that thresholded at half.
enum class Tone : uint8_t { kColor, kGray, kBitonal };

Result<Interpolation> ParseInterpolation(std::string_view name);  ///< "nearest", "linear"
Result<Blending> ParseBlending(std::string_view name);  ///< "translucent", "additive", ...
const char* InterpolationName(Interpolation i);
const char* BlendingName(Blending b);

/// One item of a channel composite: a channel shown through a colormap (an additive layer).
struct ChannelColormap {
  int channel = 0;
  std::string colormap;
};
/// "0:green,1:magenta,2:cyan" (the CLI's --channels, the IIIF channels= parameter): at most 64
/// items; INVALID_ARGUMENT naming the first bad item.
Result<std::vector<ChannelColormap>> ParseChannelColormaps(std::string_view spec);

struct Camera {
  std::optional<double> center_x;  ///< world units (image pixels); default: the image center
  std::optional<double> center_y;
  std::optional<double> zoom;      ///< output pixels per world unit; default: fit the whole image
  /// Vertical output pixels per world unit when it differs from `zoom` (a region stretched to a
  /// size of another aspect, as IIIF allows); default: zoom (square pixels).
  std::optional<double> zoom_y;
  double rotation_deg = 0;         ///< positive turns the image clockwise on screen
  bool mirror = false;             ///< flip horizontally (about the center) before rotating
};

struct Contrast {
  double lo = 0;
  double hi = 1;
};

/// Viewport auto-contrast: the layer's contrast limits are these percentiles (0..100, lo < hi) of
/// the values it shows in this render (its samples at the level drawn, NaN and inf left out).
struct AutoContrast {
  double lo_percentile = 0.5;
  double hi_percentile = 99.5;
};

/// One entry of a labels color table: an id and its color (RGBA, 8 bits each; alpha 0 hides it).
struct LabelColor {
  uint32_t id = 0;
  std::array<uint8_t, 4> rgba{};
  bool operator==(const LabelColor&) const = default;
};

/// Entries a labels color table may have; contour widths up to this many screen pixels.
inline constexpr size_t kMaxLabelColors = size_t{1} << 20;
inline constexpr int kMaxContourWidth = 64;

/// How a labels image is drawn (DESIGN §3 "Labels"): each id its own color from a seeded hash, or
/// from an explicit table; id 0 transparent; a selected id alone, or highlighted (the others at a
/// quarter of their opacity); filled, or only the objects' contours.
struct LabelsStyle {
  uint32_t seed = 0;
  std::optional<uint32_t> selected;
  bool selected_only = false;  ///< true: only the selected id is drawn; false: it is highlighted
  /// Explicit colors; ids not in it keep their hash color. Any order; an id at most once.
  std::vector<LabelColor> colors;
  /// > 0: only the pixels within this many screen pixels (square window) of another object or of
  /// no object are drawn (each object's inner border); 0: filled.
  int contour = 0;
};

struct Layer {
  ImageHandle image;
  int channel = 0;        ///< which plane of an image of several (fluorescence channels)
  ColormapSpec colormap;  ///< scalar images only
  /// Default: the display window the file suggests for the channel (OME-Zarr omero window), else
  /// [0, 255] for uint8, the channel's own [min, max] for uint16 and float32.
  std::optional<Contrast> contrast;
  /// RGB(A) only: one entry per color channel, overriding `contrast`.
  std::vector<Contrast> channel_contrast;
  double gamma = 1;
  double opacity = 1;
  Interpolation interpolation = Interpolation::kNearest;
  Blending blending = Blending::kTranslucent;
  bool visible = true;
  /// Scalar layers: contrast from the visible values, overriding `contrast` (which stays the
  /// fallback when nothing finite is visible).
  std::optional<AutoContrast> auto_contrast;
  /// Labels images: how to draw them (default style when unset); refused for other images.
  std::optional<LabelsStyle> labels;
};

/// A scale bar in a corner of the snapshot (images with a known pixel size).
struct ScaleBar {
  enum class Corner : uint8_t { kBottomRight, kBottomLeft, kTopRight, kTopLeft };
  Corner corner = Corner::kBottomRight;
  Rgba color{1, 1, 1, 1};  ///< of the bar and its label
};

/// zlib level 1 with the "up" filter: 5x faster than libpng's default at ~1.7x the size
/// (ENGINEERING.md). Level 0 stores, 9 is smallest.
inline constexpr int kDefaultPngLevel = 1;

struct RenderRequest {
  int width = 0;
  int height = 0;
  Camera camera;
  std::vector<Layer> layers;         ///< drawn in order; at least one
  Rgba background{0, 0, 0, 1};       ///< straight alpha; opaque gives an RGB PNG
  OutputFormat format = OutputFormat::kPng;
  int png_level = kDefaultPngLevel;  ///< 0..9
  /// JPEG 1..100 (default 85), lossy WebP 0..100 (default 80); unset: the default.
  std::optional<int> quality;
  bool lossless = false;             ///< WebP: lossless (quality ignored)
  Tone tone = Tone::kColor;          ///< applied to the rendered frame before encoding
  /// Drawn when set; its length comes from the first visible layer's image's pixel size.
  std::optional<ScaleBar> scale_bar;
};

/// Asked before a queued render starts: true drops it with CANCELLED (client gone, deadline passed).
using CancelFn = std::function<bool()>;

/// The contrast limits a scalar layer was drawn with (the response tells a client what auto-contrast
/// chose).
struct ContrastUsed {
  int layer = 0;           ///< index in the request's layers
  double lo = 0, hi = 0;
  bool automatic = false;  ///< from auto-contrast (else the layer's contrast or its default)
  int64_t samples = 0;     ///< automatic: the visible finite values the percentiles came from
};

struct RenderTimings {
  double fetch_ms = 0;     ///< reading and decoding tiles not resident, on the workers, before queueing
  double queue_ms = 0;     ///< waiting for the render thread
  double draw_ms = 0;      ///< page-ins and draw calls until the GPU finished
  double readback_ms = 0;  ///< glReadPixels
  double encode_ms = 0;    ///< PNG (or raw conversion), off the render thread
  int tiles_drawn = 0;
  int tiles_paged_in = 0;  ///< tiles uploaded to the GPU cache for this render
};

/// Pixels as read back: premultiplied RGBA8, rows bottom-up (GL order).
struct Frame {
  int width = 0;
  int height = 0;
  bool has_alpha = false;  ///< background not opaque
  double scale_bar_um = 0; ///< the scale bar drawn, in micrometres (0: none)
  std::vector<ContrastUsed> contrasts;  ///< one per visible scalar layer
  std::vector<uint8_t> rgba;
  RenderTimings timings;
};

struct RenderOutput {
  OutputFormat format = OutputFormat::kPng;
  int width = 0;
  int height = 0;
  bool has_alpha = false;
  double scale_bar_um = 0;  ///< the scale bar drawn, in micrometres (0: none)
  std::vector<ContrastUsed> contrasts;  ///< one per visible scalar layer
  std::vector<uint8_t> data;  ///< PNG, JPEG or WebP file bytes, or top-down straight-alpha RGBA8
  RenderTimings timings;
};

}  // namespace tilerender
