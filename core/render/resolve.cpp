#include "core/render/resolve.h"

#include <algorithm>
#include <cmath>

namespace tilerender {

Contrast DefaultContrast(const ImageInfo& info, int channel) {
  if (channel >= 0 && channel < static_cast<int>(info.channel_info.size()) && info.channel_info[channel].has_window()) {
    return {info.channel_info[channel].window_lo, info.channel_info[channel].window_hi};  // the file's suggestion
  }
  const ValueRange& range =
      channel >= 0 && channel < static_cast<int>(info.channel_info.size()) ? info.channel_info[channel].range : info.range;
  if (info.desc.type == PixelType::kUint8 || range.empty()) return {0, 255};
  if (range.min == range.max) return {range.min, range.min + 1};  // flat image
  return {range.min, range.max};
}

// There bilinear sampling has all its weight on one texel (the shader's weights are exactly 1, 0,
// 0, 0): it is nearest sampling, which fetches a quarter of the texels.
std::optional<TexelGridMap> TexelGrid(const View& v, int level) {
  const double scale = std::ldexp(1.0, level);
  if (v.zoom * scale != 1.0 || v.zoom_y != v.zoom) return std::nullopt;
  const bool quarter_turn = (v.sin_t == 0 && std::abs(v.cos_t) == 1) || (v.cos_t == 0 && std::abs(v.sin_t) == 1);
  if (!quarter_turn) return std::nullopt;
  // Level texels per output pixel: the inverse matrix over the scale, exactly 0 or +-1 here.
  double m[4];
  v.InverseMatrix(m);
  const Vec2 first = v.ToWorld({0.5, 0.5});
  const double x = first.x / scale - 0.5, y = first.y / scale - 0.5;
  if (x != std::floor(x) || y != std::floor(y) || std::abs(x) > 1e7 || std::abs(y) > 1e7) return std::nullopt;
  return TexelGridMap{static_cast<int64_t>(x), static_cast<int64_t>(y), static_cast<int>(m[0] / scale),
                      static_cast<int>(m[1] / scale), static_cast<int>(m[2] / scale), static_cast<int>(m[3] / scale)};
}

namespace {

Status CheckContrast(const Contrast& c, const std::string& where) {
  if (!std::isfinite(c.lo) || !std::isfinite(c.hi)) {
    return InvalidArgument(where + ": contrast limits must be finite");
  }
  // The shader works in float: limits beyond float's range would become infinities.
  constexpr double kMaxFloat = 3.4028234663852886e38;
  if (std::abs(c.lo) > kMaxFloat || std::abs(c.hi) > kMaxFloat || std::abs(c.hi - c.lo) > kMaxFloat) {
    return InvalidArgument(where + ": contrast limits " + ShortNumber(c.lo) + ", " + ShortNumber(c.hi) +
                           " are beyond float range (|lo|, |hi| and hi - lo at most 3.4e38)");
  }
  if (c.lo == c.hi) {
    return InvalidArgument(where + ": contrast limits must differ (lo == hi == " + ShortNumber(c.lo) + ")");
  }
  return Status::Ok();
}

Result<ResolvedLayer> ResolveLayer(const Layer& layer, size_t index, const View& view) {
  const double zoom = view.detail_zoom();
  const std::string where = "layer " + std::to_string(index);
  if (!layer.image) return InvalidArgument(where + ": no image");
  const ImageInfo& info = layer.image->info();
  if (layer.channel < 0 || layer.channel >= info.desc.planes) {
    return InvalidArgument(where + ": channel " + std::to_string(layer.channel) + " does not exist (the image has " +
                           std::to_string(info.desc.planes) + ")");
  }
  ResolvedLayer r;
  r.image = layer.image;
  r.channel = layer.channel;
  r.level = SelectLevel(zoom, info.levels);
  r.interpolation = layer.interpolation;
  if (r.interpolation == Interpolation::kLinear && OnTexelGrid(view, r.level)) r.interpolation = Interpolation::kNearest;
  r.blending = layer.blending;
  if (!std::isfinite(layer.opacity) || layer.opacity < 0 || layer.opacity > 1) {
    return InvalidArgument(where + ": opacity must be in [0, 1]");
  }
  r.opacity = static_cast<float>(layer.opacity);
  if (!std::isfinite(layer.gamma) || layer.gamma <= 0) {
    return InvalidArgument(where + ": gamma must be > 0, got " + ShortNumber(layer.gamma));
  }
  r.gamma.fill(static_cast<float>(layer.gamma));

  Contrast base = layer.contrast.value_or(DefaultContrast(info, layer.channel));
  TR_RETURN_IF_ERROR(CheckContrast(base, where));
  std::array<Contrast, 3> per{base, base, base};
  if (!layer.channel_contrast.empty()) {
    if (info.desc.channels == 1) {
      return InvalidArgument(where + ": per-channel contrast applies to RGB(A) images only");
    }
    if (layer.channel_contrast.size() != 3) {
      return InvalidArgument(where + ": per-channel contrast needs 3 entries (R, G, B), got " +
                             std::to_string(layer.channel_contrast.size()));
    }
    for (int c = 0; c < 3; ++c) {
      per[c] = layer.channel_contrast[c];
      TR_RETURN_IF_ERROR(CheckContrast(per[c], where + " channel " + std::to_string(c)));
    }
  }
  for (int c = 0; c < 3; ++c) {
    r.lo[c] = static_cast<float>(per[c].lo);
    r.range[c] = static_cast<float>(per[c].hi - per[c].lo);
    if (r.range[c] == 0) {
      return InvalidArgument(where + ": contrast range too small for float precision");
    }
  }

  if (info.labels) {
    // Ids are never interpolated (a blend of two ids is a third object): always nearest.
    if (layer.auto_contrast) return InvalidArgument(where + ": a labels image has no contrast to choose");
    r.labels = layer.labels.value_or(LabelsStyle{});
    r.interpolation = Interpolation::kNearest;
    LabelsStyle& style = *r.labels;
    if (style.contour < 0 || style.contour > kMaxContourWidth) {
      return InvalidArgument(where + ": contour width must be 0 (filled) to " + std::to_string(kMaxContourWidth) +
                             " screen pixels, got " + std::to_string(style.contour));
    }
    if (style.colors.size() > kMaxLabelColors) {
      return InvalidArgument(where + ": a labels color table has at most " + std::to_string(kMaxLabelColors) +
                             " entries, got " + std::to_string(style.colors.size()));
    }
    // Sorted by id: the shader looks colors up by binary search.
    std::sort(style.colors.begin(), style.colors.end(), [](const LabelColor& a, const LabelColor& b) { return a.id < b.id; });
    for (size_t i = 1; i < style.colors.size(); ++i) {
      if (style.colors[i].id == style.colors[i - 1].id) {
        return InvalidArgument(where + ": label " + std::to_string(style.colors[i].id) + " has two colors");
      }
    }
  } else if (layer.labels) {
    return InvalidArgument(where + ": a labels style needs an image loaded as labels");
  }
  r.index = static_cast<int>(index);
  r.contrast = {static_cast<int>(index), base.lo, base.hi, false, 0};
  if (layer.auto_contrast) {
    const AutoContrast& a = *layer.auto_contrast;
    if (info.desc.channels != 1) return InvalidArgument(where + ": auto-contrast applies to single-channel images only");
    if (!(a.lo_percentile >= 0 && a.lo_percentile < a.hi_percentile && a.hi_percentile <= 100)) {
      return InvalidArgument(where + ": auto-contrast percentiles must satisfy 0 <= lo < hi <= 100, got " +
                             ShortNumber(a.lo_percentile) + ", " + ShortNumber(a.hi_percentile));
    }
    r.auto_contrast = a;
  }

  if (info.desc.channels == 1) {
    auto lut = ResolveColormap(layer.colormap);
    if (!lut.ok()) return InvalidArgument(where + ": " + lut.status().message());
    r.lut = std::move(lut).value();
  } else if (!layer.colormap.name.empty() || !layer.colormap.points.empty() ||
             !layer.colormap.lut.empty()) {
    // RGB(A) images carry their own colors; a colormap would be silently ignored, so refuse it.
    if (layer.colormap.name != "gray") {
      return InvalidArgument(where + ": colormaps apply to single-channel images only");
    }
  }
  return r;
}

}  // namespace

Result<ResolvedRender> ResolveRender(const RenderRequest& req, const EngineLimits& limits) {
  if (req.width <= 0 || req.height <= 0) {
    return InvalidArgument("output size must be positive, got " + std::to_string(req.width) + "x" +
                           std::to_string(req.height));
  }
  if (req.width > limits.max_output_side || req.height > limits.max_output_side ||
      int64_t{req.width} * req.height > limits.max_output_pixels) {
    return ResourceExhausted("output " + std::to_string(req.width) + "x" +
                             std::to_string(req.height) + " exceeds the limit (side " +
                             std::to_string(limits.max_output_side) + ", " +
                             std::to_string(limits.max_output_pixels) + " pixels)");
  }
  if (req.png_level < 0 || req.png_level > 9) {
    return InvalidArgument("PNG compression level must be 0..9, got " + std::to_string(req.png_level));
  }
  if (req.quality && req.format == OutputFormat::kJpeg && (*req.quality < 1 || *req.quality > 100)) {
    return InvalidArgument("JPEG quality must be 1..100, got " + std::to_string(*req.quality));
  }
  if (req.quality && req.format == OutputFormat::kWebp && (*req.quality < 0 || *req.quality > 100)) {
    return InvalidArgument("WebP quality must be 0..100, got " + std::to_string(*req.quality));
  }
  if (req.format == OutputFormat::kWebp && (req.width > 16383 || req.height > 16383)) {
    return InvalidArgument("WebP holds at most 16383 pixels per side; render smaller or as PNG");
  }
  for (float v : {req.background.r, req.background.g, req.background.b, req.background.a}) {
    if (!std::isfinite(v) || v < 0 || v > 1) {
      return InvalidArgument("background components must be in [0, 1]");
    }
  }
  if (req.layers.empty()) return InvalidArgument("a render needs at least one layer");
  if (static_cast<int64_t>(req.layers.size()) > limits.max_layers) {
    return ResourceExhausted("a render has at most " + std::to_string(limits.max_layers) + " layers, got " +
                             std::to_string(req.layers.size()));
  }
  double world_w = 0, world_h = 0;
  for (size_t i = 0; i < req.layers.size(); ++i) {
    if (!req.layers[i].image) return InvalidArgument("layer " + std::to_string(i) + ": no image");
    world_w = std::max<double>(world_w, req.layers[i].image->info().desc.width);
    world_h = std::max<double>(world_h, req.layers[i].image->info().desc.height);
  }
  ResolvedRender out;
  TR_ASSIGN_OR_RETURN(out.view, ResolveView(req.camera, req.width, req.height, world_w, world_h));
  out.background = req.background;
  for (size_t i = 0; i < req.layers.size(); ++i) {
    // Invisible layers are validated too: a bad request is bad whatever is shown.
    TR_ASSIGN_OR_RETURN(ResolvedLayer layer, ResolveLayer(req.layers[i], i, out.view));
    if (req.layers[i].visible) out.layers.push_back(std::move(layer));
  }
  if (req.scale_bar) {
    const ScaleBar& bar = *req.scale_bar;
    for (float v : {bar.color.r, bar.color.g, bar.color.b, bar.color.a}) {
      if (!std::isfinite(v) || v < 0 || v > 1) return InvalidArgument("scale bar color components must be in [0, 1]");
    }
    // The scale of the first image that knows its pixel size.
    double um = 0;
    for (const ResolvedLayer& l : out.layers) {
      if (l.image->info().pixel_size_x_um > 0) {
        um = l.image->info().pixel_size_x_um;
        break;
      }
    }
    if (!(um > 0)) return InvalidArgument("a scale bar needs an image whose pixel size is known; none of this render's images has one");
    TR_ASSIGN_OR_RETURN(out.scale_bar_plan, PlanScaleBar(um / out.view.zoom, out.view.width));
    out.scale_bar = bar;
  }
  return out;
}

}  // namespace tilerender
