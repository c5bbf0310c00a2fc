#include "client/compare.h"

#include <png.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/encode/png_encoder.h"

namespace tilerender::client {

namespace fs = std::filesystem;

Result<RgbaImage> ReadPngRgba(const std::string& path) {
  if (!fs::exists(path)) return NotFound("no file " + path);
  png_image img{};
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&img, path.c_str())) {
    return InvalidArgument(path + ": not a readable PNG (" + img.message + ")");
  }
  img.format = PNG_FORMAT_RGBA;
  RgbaImage out;
  out.width = static_cast<int>(img.width);
  out.height = static_cast<int>(img.height);
  out.px.resize(PNG_IMAGE_SIZE(img));
  if (!png_image_finish_read(&img, nullptr, out.px.data(), 0, nullptr)) {
    const std::string msg = img.message;
    png_image_free(&img);
    return InvalidArgument(path + ": corrupt PNG (" + msg + ")");
  }
  return out;
}

Status WritePngRgba(const std::string& path, const RgbaImage& image) {
  TR_ASSIGN_OR_RETURN(std::vector<uint8_t> png,
                      EncodePng(image.px.data(), image.width, image.height,
                                static_cast<size_t>(image.width) * 4, {.level = 6}));
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(png.data()), static_cast<std::streamsize>(png.size()));
  return f ? Status::Ok() : Internal("cannot write " + path);
}

CompareResult ComparePixels(const RgbaImage& a, const RgbaImage& b, int tolerance) {
  CompareResult r;
  r.pixels = static_cast<int64_t>(a.width) * a.height;
  for (size_t i = 0; i + 3 < a.px.size() && i + 3 < b.px.size(); i += 4) {
    int worst = 0;
    for (int c = 0; c < 4; ++c) worst = std::max(worst, std::abs(int{a.px[i + c]} - int{b.px[i + c]}));
    r.max_diff = std::max(r.max_diff, worst);
    r.differing += worst > tolerance;
  }
  return r;
}

RgbaImage DiffImage(const RgbaImage& a, const RgbaImage& b, int tolerance) {
  RgbaImage d = a;
  for (size_t i = 0; i + 3 < d.px.size(); i += 4) {
    int worst = 0;
    for (int c = 0; c < 4; ++c) worst = std::max(worst, std::abs(int{a.px[i + c]} - int{b.px[i + c]}));
    if (worst > tolerance) {
      d.px[i] = 255, d.px[i + 1] = 0, d.px[i + 2] = 0;
    } else {
      // Luma of A at a third of its brightness: the context, out of the way of the marks.
      const int y = (a.px[i] * 77 + a.px[i + 1] * 150 + a.px[i + 2] * 29) >> 8;
      d.px[i] = d.px[i + 1] = d.px[i + 2] = static_cast<uint8_t>(40 + y / 3);
    }
    d.px[i + 3] = 255;
  }
  return d;
}

namespace {

// Compares two files; returns 0/1/2 as ComparePair does and fills `line`.
int CompareFiles(const std::string& a_path, const std::string& b_path, const CompareOptions& o,
                 const std::string& diff_path, std::string* line) {
  auto a = ReadPngRgba(a_path);
  auto b = ReadPngRgba(b_path);
  if (!a.ok() || !b.ok()) {
    *line = "unreadable: " + (a.ok() ? b.status() : a.status()).message();
    return 2;
  }
  if (a->width != b->width || a->height != b->height) {
    *line = "size mismatch: " + std::to_string(a->width) + "x" + std::to_string(a->height) + " vs " +
            std::to_string(b->width) + "x" + std::to_string(b->height);
    return 2;
  }
  const CompareResult r = ComparePixels(*a, *b, o.tolerance);
  const bool ok = r.differing <= o.max_pixels;
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s: %lld of %lld pixels differ by more than %d (max difference %d)",
                ok ? "OK" : "FAIL", static_cast<long long>(r.differing), static_cast<long long>(r.pixels),
                o.tolerance, r.max_diff);
  *line = buf;
  if (!ok && !diff_path.empty()) {
    const Status s = WritePngRgba(diff_path, DiffImage(*a, *b, o.tolerance));
    *line += s.ok() ? ", diff " + diff_path : ", " + s.message();
  }
  return ok ? 0 : 1;
}

}  // namespace

int ComparePair(const std::string& a, const std::string& b, const CompareOptions& o) {
  std::string line;
  const int code = CompareFiles(a, b, o, o.diff_path, &line);
  std::printf("%s vs %s: %s\n", a.c_str(), b.c_str(), line.c_str());
  return code;
}

int CompareDirs(const std::string& goldens, const std::string& actual, const CompareOptions& o) {
  std::error_code ec;
  if (!fs::is_directory(goldens, ec) || !fs::is_directory(actual, ec)) {
    std::fprintf(stderr, "tilerender compare: %s and %s must be directories\n", goldens.c_str(), actual.c_str());
    return 2;
  }
  std::set<std::string> names;
  for (const auto& dir : {goldens, actual}) {
    for (const auto& e : fs::directory_iterator(dir)) {
      if (e.path().extension() == ".png" && e.path().filename().string().find(".diff.") == std::string::npos) {
        names.insert(e.path().filename().string());
      }
    }
  }
  if (!o.diff_dir.empty()) fs::create_directories(o.diff_dir, ec);
  int failed = 0, updated = 0;
  for (const std::string& name : names) {
    const std::string g = goldens + "/" + name, a = actual + "/" + name;
    std::string line;
    int code;
    if (!fs::exists(a)) {
      line = "MISSING from " + actual;
      code = 1;
    } else if (!fs::exists(g)) {
      line = "NEW (no golden)";
      code = 1;
    } else {
      const std::string diff = o.diff_dir.empty() ? "" : o.diff_dir + "/" + fs::path(name).stem().string() + ".diff.png";
      code = CompareFiles(g, a, o, diff, &line);
    }
    if (code != 0 && o.update && fs::exists(a)) {
      fs::copy_file(a, g, fs::copy_options::overwrite_existing, ec);
      line += ec ? " (update failed: " + ec.message() + ")" : " -> golden updated";
      if (!ec) {
        ++updated;
        code = 0;
      }
    }
    if (code != 0) ++failed;
    std::printf("%-40s %s\n", name.c_str(), line.c_str());
  }
  std::printf("%zu compared, %d failed%s\n", names.size(), failed,
              updated ? (", " + std::to_string(updated) + " goldens updated").c_str() : "");
  return failed == 0 ? 0 : 1;
}

}  // namespace tilerender::client
