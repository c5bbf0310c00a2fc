#include "core/render/probe.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>

namespace tilerender {
namespace {

// Reads pixels of one level of one plane, keeping the chunks it has read for the call.
class LevelReader {
 public:
  LevelReader(TileFetcher& fetcher, const TiledImage& image, int level, int plane, const CancelFn& cancelled)
      : fetcher_(fetcher), image_(image), l_(image.plan().levels[level]), level_(level), plane_(plane), cancelled_(cancelled) {
    const ImageDesc& d = image.info().desc;
    bpp_ = d.bytes_per_pixel();
    channels_ = d.channels;
    type_ = d.type;
    // A level held in memory (an upload, a converted file) is read in place.
    if (l_.from_source()) whole_ = image.source().contiguous(l_.source_index, plane);
  }

  // The channel values of pixel (x, y) of the level (inside it) into out[0..channels).
  Status Pixel(int64_t x, int64_t y, double* out) {
    const uint8_t* p;
    if (whole_ != nullptr) {
      p = whole_ + static_cast<size_t>(y) * static_cast<size_t>(l_.width) * bpp_ + static_cast<size_t>(x) * bpp_;
    } else {
      const int64_t cx = x / l_.chunk_width, cy = y / l_.chunk_height;
      auto it = chunks_.find({cx, cy});
      if (it == chunks_.end()) {
        if (cancelled_ && cancelled_()) return Cancelled("probe cancelled");
        TR_ASSIGN_OR_RETURN(ChunkRef c, fetcher_.Chunk(image_, level_, plane_, cx, cy));
        it = chunks_.emplace(std::make_pair(cx, cy), std::move(c)).first;
      }
      const HostChunk& c = *it->second;
      p = c.data + static_cast<size_t>(y - cy * l_.chunk_height) * c.stride + static_cast<size_t>(x - cx * l_.chunk_width) * bpp_;
    }
    for (int ch = 0; ch < channels_; ++ch) {
      switch (type_) {
        case PixelType::kUint8: out[ch] = p[ch]; break;
        case PixelType::kUint16: {
          uint16_t v;
          std::memcpy(&v, p + 2 * ch, 2);
          out[ch] = v;
          break;
        }
        case PixelType::kFloat32: {
          float v;
          std::memcpy(&v, p + 4 * ch, 4);
          out[ch] = v;
          break;
        }
        case PixelType::kUint32: {
          uint32_t v;
          std::memcpy(&v, p + 4 * ch, 4);
          out[ch] = v;
          break;
        }
      }
    }
    return Status::Ok();
  }

  int channels() const { return channels_; }

 private:
  TileFetcher& fetcher_;
  const TiledImage& image_;
  const LevelPlan& l_;
  int level_, plane_;
  const CancelFn& cancelled_;
  size_t bpp_ = 1;
  int channels_ = 1;
  PixelType type_ = PixelType::kUint8;
  const uint8_t* whole_ = nullptr;
  // The chunks this call has read (small: a profile crosses few chunks; a probe's points each one).
  std::map<std::pair<int64_t, int64_t>, ChunkRef> chunks_;
};

}  // namespace

std::vector<WorldPoint> LinePoints(WorldPoint from, WorldPoint to, int samples) {
  std::vector<WorldPoint> out;
  if (samples <= 0) return out;
  out.reserve(static_cast<size_t>(samples));
  for (int i = 0; i < samples; ++i) {
    const double t = samples == 1 ? 0 : static_cast<double>(i) / (samples - 1);
    out.push_back({from.x + (to.x - from.x) * t, from.y + (to.y - from.y) * t});
  }
  return out;
}

Result<std::vector<ValueSample>> SampleValues(TileFetcher& fetcher, const TiledImage& image, const SampleOptions& options,
                                              const std::vector<WorldPoint>& points, const CancelFn& cancelled) {
  const ImageInfo& info = image.info();
  if (options.plane < 0 || options.plane >= info.desc.planes) {
    return InvalidArgument("channel " + std::to_string(options.plane) + " of an image of " + std::to_string(info.desc.planes) +
                           (info.desc.planes == 1 ? " channel" : " channels"));
  }
  const int levels = static_cast<int>(image.plan().levels.size());
  if (options.level < 0 || options.level >= levels) {
    return InvalidArgument("level " + std::to_string(options.level) + " of an image of " + std::to_string(levels) +
                           (levels == 1 ? " level" : " levels"));
  }
  if (points.size() > kMaxSamplePoints) {
    return InvalidArgument("at most " + std::to_string(kMaxSamplePoints) + " points, got " + std::to_string(points.size()));
  }
  const LevelPlan& l = image.plan().levels[options.level];
  const double scale = std::ldexp(1.0, l.level);  // level-0 pixels per level pixel
  LevelReader reader(fetcher, image, options.level, options.plane, cancelled);
  const int nc = reader.channels();
  std::vector<ValueSample> out(points.size());
  double taps[4][4];
  for (size_t i = 0; i < points.size(); ++i) {
    const WorldPoint p = points[i];
    // Inside: within the level-0 image (the level covers it, its last pixels partly beyond).
    if (!(p.x >= 0 && p.y >= 0 && p.x < static_cast<double>(info.desc.width) && p.y < static_cast<double>(info.desc.height))) {
      continue;  // outside, NaN or infinite coordinates: absent
    }
    ValueSample& s = out[i];
    s.inside = true;
    s.values.assign(static_cast<size_t>(nc), 0.0);
    const double u = p.x / scale, v = p.y / scale;
    if (options.interpolation == Interpolation::kNearest) {
      const int64_t x = std::min<int64_t>(static_cast<int64_t>(u), l.width - 1);
      const int64_t y = std::min<int64_t>(static_cast<int64_t>(v), l.height - 1);
      TR_RETURN_IF_ERROR(reader.Pixel(x, y, s.values.data()));
      continue;
    }
    // Bilinear between pixel centers, clamped to the edge pixels.
    const double fu = u - 0.5, fv = v - 0.5;
    const double x0f = std::floor(fu), y0f = std::floor(fv);
    const double ax = fu - x0f, ay = fv - y0f;
    const int64_t xs[2] = {std::clamp<int64_t>(static_cast<int64_t>(x0f), 0, l.width - 1),
                           std::clamp<int64_t>(static_cast<int64_t>(x0f) + 1, 0, l.width - 1)};
    const int64_t ys[2] = {std::clamp<int64_t>(static_cast<int64_t>(y0f), 0, l.height - 1),
                           std::clamp<int64_t>(static_cast<int64_t>(y0f) + 1, 0, l.height - 1)};
    const double w[4] = {(1 - ax) * (1 - ay), ax * (1 - ay), (1 - ax) * ay, ax * ay};
    for (int t = 0; t < 4; ++t) {
      if (w[t] == 0) continue;  // a tap that does not count is not read
      TR_RETURN_IF_ERROR(reader.Pixel(xs[t & 1], ys[t >> 1], taps[t]));
    }
    for (int ch = 0; ch < nc; ++ch) {
      double sum = 0, weight = 0;
      bool nan = false;
      for (int t = 0; t < 4; ++t) {
        if (w[t] == 0) continue;
        if (std::isnan(taps[t][ch])) {
          nan = true;
          continue;
        }
        sum += w[t] * taps[t][ch];
        weight += w[t];
      }
      // Without NaN the weights sum to 1 (not divided: a value between equal taps stays exact).
      s.values[static_cast<size_t>(ch)] = !nan ? sum : weight > 0 ? sum / weight : std::numeric_limits<double>::quiet_NaN();
    }
  }
  return out;
}

}  // namespace tilerender
