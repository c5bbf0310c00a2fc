// The daemon through the real client: the API, every error row of DESIGN §4 (exact code, then a
// normal render still works and the image set is unchanged), uploads, streams, shutdown.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <tiffio.h>

#include "core/image/image_file.h"
#include "tests/daemon_fixture.h"
#include "tests/test_util.h"
#include "tests/ome_tiff_writer.h"
#include "tests/zarr_writer.h"

namespace tilerender::testing {
namespace {

namespace v1 = ::tilerender::v1;

std::vector<uint16_t> Ramp16(int64_t w, int64_t h) {
  std::vector<uint16_t> v(w * h);
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      v[y * w + x] = static_cast<uint16_t>(static_cast<int64_t>(1000 + 40 * x + 17 * y + 3000 * std::sin(x * 0.05) * std::cos(y * 0.07)));
    }
  }
  return v;
}

v1::RenderRequest SimpleRender(const std::string& id, uint32_t w = 64, uint32_t h = 48) {
  v1::RenderRequest r;
  r.set_width(w);
  r.set_height(h);
  r.add_layers()->set_image_id(id);
  return r;
}

class DaemonTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    daemon_ = new Daemon();
    // Fixture images: a uint16 NPY (300 x 200) loaded as "base".
    const auto ramp = Ramp16(300, 200);
    WriteNpy(daemon_->data_root() + "/ramp.npy", "<u2", {200, 300}, ramp.data(), ramp.size() * 2);
    auto base = daemon_->client().Load("ramp.npy", "base");
    ASSERT_TRUE(base.ok()) << base.status().ToString();
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(daemon_->Stop(), 0) << "SIGTERM must end the daemon with exit code 0";
    delete daemon_;
  }

  client::Client& c() { return daemon_->client(); }

  std::vector<std::string> Ids() {
    auto list = c().List();
    EXPECT_TRUE(list.ok());
    std::vector<std::string> ids;
    for (const auto& i : *list) ids.push_back(i.image_id());
    return ids;
  }

  // After an error: the daemon still renders and nothing loaded was lost or added.
  void ExpectStillServing(const std::vector<std::string>& ids_before) {
    auto r = c().Render(SimpleRender("base"));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(Ids(), ids_before);
  }

  static Daemon* daemon_;
};

Daemon* DaemonTest::daemon_ = nullptr;

TEST_F(DaemonTest, RenderEqualsCoreRenderByteForByte) {
  // The same uint16 NPY, the same request: through the daemon and through core in this process.
  v1::RenderRequest req;
  req.set_width(320);
  req.set_height(240);
  req.mutable_camera()->set_zoom(1.37);
  req.mutable_camera()->set_rotation_deg(30);
  req.mutable_camera()->set_center_x(140.5);
  req.mutable_camera()->set_center_y(95.25);
  v1::Layer* l = req.add_layers();
  l->set_image_id("base");
  l->mutable_colormap()->set_name("viridis");
  l->mutable_contrast()->set_lo(1500);
  l->mutable_contrast()->set_hi(12000);
  l->set_gamma(0.8);
  l->set_interpolation(v1::LINEAR);
  auto remote = c().Render(req);
  ASSERT_TRUE(remote.ok()) << remote.status().ToString();

  auto file = OpenImageFile(daemon_->data_root() + "/ramp.npy");
  ASSERT_TRUE(file.ok());
  ImageHandle img = Load(file->source);
  RenderRequest local{.width = 320, .height = 240};
  local.camera = {.center_x = 140.5, .center_y = 95.25, .zoom = 1.37, .rotation_deg = 30};
  local.layers.push_back({.image = img, .colormap = {.name = "viridis"}, .contrast = Contrast{1500, 12000},
                          .gamma = 0.8, .interpolation = Interpolation::kLinear});
  auto direct = TestEngine().Render(local);
  ASSERT_TRUE(direct.ok());
  ASSERT_EQ(remote->data().size(), direct->data.size());
  EXPECT_TRUE(std::equal(direct->data.begin(), direct->data.end(),
                         reinterpret_cast<const uint8_t*>(remote->data().data())));
  EXPECT_GT(remote->timings().total_ms(), 0);
}

TEST_F(DaemonTest, ServerInfoAndImageMetadata) {
  auto info = c().Info();
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->gl_renderer().empty());
  EXPECT_GT(info->max_texture_size(), 0);
  EXPECT_GT(info->limits().max_output_pixels(), 0);
  EXPECT_GE(info->colormaps_size(), 15);
  auto list = c().List();
  ASSERT_TRUE(list.ok());
  const auto it = std::find_if(list->begin(), list->end(), [](const auto& i) { return i.image_id() == "base"; });
  ASSERT_NE(it, list->end());
  EXPECT_EQ(it->width(), 300);
  EXPECT_EQ(it->pixel_type(), v1::UINT16);
  EXPECT_EQ(it->gpu_bytes_level0(), 300 * 200 * 2);
  const auto ramp = Ramp16(300, 200);
  EXPECT_EQ(it->value_min(), *std::min_element(ramp.begin(), ramp.end()));
  EXPECT_EQ(it->value_max(), *std::max_element(ramp.begin(), ramp.end()));
  EXPECT_EQ(it->format(), "npy");
}

TEST_F(DaemonTest, LoadErrors) {
  const auto before = Ids();
  const std::string root = daemon_->data_root();
  auto code = [&](const std::string& path, const std::string& id = "") {
    return c().Load(path, id).status().code();
  };
  EXPECT_EQ(code("missing.npy"), StatusCode::kNotFound);
  EXPECT_EQ(code("../outside.npy"), StatusCode::kPermissionDenied);
  EXPECT_EQ(code("sub/../../etc/passwd"), StatusCode::kPermissionDenied);
  EXPECT_EQ(code("/etc/passwd"), StatusCode::kPermissionDenied);
  // A symlink inside the root that points out of it.
  std::filesystem::create_symlink("/etc/hostname", root + "/escape.png");
  EXPECT_EQ(code("escape.png"), StatusCode::kPermissionDenied);
  // Corrupt and unsupported files.
  std::ofstream(root + "/corrupt.png", std::ios::binary) << "\x89PNG\r\n\x1a\n garbage that is not a PNG";
  EXPECT_EQ(code("corrupt.png"), StatusCode::kInvalidArgument);
  std::ofstream(root + "/notes.txt") << "hello, not an image";
  EXPECT_EQ(code("notes.txt"), StatusCode::kInvalidArgument);
  const auto ramp = Ramp16(300, 200);
  WriteNpy(root + "/truncated.npy", "<u2", {200, 300}, ramp.data(), 1000);
  EXPECT_EQ(code("truncated.npy"), StatusCode::kInvalidArgument);
  WriteNpy(root + "/absurd.npy", "<u2", {4000000000, 4000000000}, ramp.data(), 100);
  EXPECT_EQ(code("absurd.npy"), StatusCode::kInvalidArgument);
  WriteNpy(root + "/cube.npy", "<u2", {2, 3, 5, 7}, ramp.data(), 2 * 3 * 5 * 7 * 2);
  EXPECT_EQ(code("cube.npy"), StatusCode::kInvalidArgument);
  // The id is taken.
  EXPECT_EQ(code("ramp.npy", "base"), StatusCode::kAlreadyExists);
  EXPECT_EQ(code("ramp.npy", "bad id/with slash"), StatusCode::kInvalidArgument);
  ExpectStillServing(before);
}

TEST_F(DaemonTest, RenderErrors) {
  const auto before = Ids();
  auto code = [&](const v1::RenderRequest& r) { return c().Render(r).status().code(); };
  v1::RenderRequest r = SimpleRender("nope");
  EXPECT_EQ(code(r), StatusCode::kNotFound);
  r = SimpleRender("base");
  r.mutable_camera()->set_zoom(NAN);
  EXPECT_EQ(code(r), StatusCode::kInvalidArgument);
  r = SimpleRender("base");
  r.mutable_camera()->set_center_x(INFINITY);
  EXPECT_EQ(code(r), StatusCode::kInvalidArgument);
  r = SimpleRender("base");
  r.mutable_layers(0)->mutable_contrast()->set_lo(5);
  r.mutable_layers(0)->mutable_contrast()->set_hi(5);
  EXPECT_EQ(code(r), StatusCode::kInvalidArgument);
  r = SimpleRender("base");
  r.mutable_layers(0)->set_gamma(0);
  EXPECT_EQ(code(r), StatusCode::kInvalidArgument);
  r = SimpleRender("base");
  r.mutable_layers(0)->mutable_colormap()->set_name("jet");
  auto unknown = c().Render(r);
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("viridis"), std::string::npos);
  r = SimpleRender("base");
  r.mutable_layers(0)->mutable_colormap()->set_lut_rgba8(std::string(100, 'x'));
  EXPECT_EQ(code(r), StatusCode::kInvalidArgument);
  r = SimpleRender("base", 0, 10);
  EXPECT_EQ(code(r), StatusCode::kInvalidArgument);
  r = SimpleRender("base", 100000, 100000);
  EXPECT_EQ(code(r), StatusCode::kResourceExhausted);
  r = SimpleRender("base", 4000000000u, 10);
  EXPECT_EQ(code(r), StatusCode::kResourceExhausted);
  r = SimpleRender("base");
  r.clear_layers();
  EXPECT_EQ(code(r), StatusCode::kInvalidArgument);
  ExpectStillServing(before);
}

TEST_F(DaemonTest, UnloadAndReload) {
  const auto before = Ids();
  EXPECT_EQ(c().Unload("never-loaded").status().code(), StatusCode::kNotFound);
  ExpectStillServing(before);  // "base" is rendered (resident) before and after
  auto stats0 = c().Stats();
  ASSERT_TRUE(c().Load("ramp.npy", "second").ok());
  v1::RenderRequest r = SimpleRender("second");
  r.mutable_camera()->set_zoom(1);  // level 0: one 300 x 200 tile
  ASSERT_TRUE(c().Render(r).ok());
  auto stats1 = c().Stats();
  EXPECT_EQ(stats1->gpu_bytes_used(), stats0->gpu_bytes_used() + 300 * 200 * 2);
  auto freed = c().Unload("second");
  ASSERT_TRUE(freed.ok());
  EXPECT_EQ(*freed, 300 * 200 * 2) << "its one resident tile";
  ExpectStillServing(before);
  auto stats2 = c().Stats();
  EXPECT_EQ(stats2->gpu_bytes_used(), stats0->gpu_bytes_used()) << "its tiles left the cache with it";
  EXPECT_EQ(stats2->images(), stats0->images());
}

TEST_F(DaemonTest, UploadRoundTripAndSizeMismatch) {
  const auto before = Ids();
  // A 3-channel uint8 image uploaded in odd-sized chunks renders back exactly at zoom 1.
  const ImageDesc desc{77, 41, PixelType::kUint8, 3};
  auto src = MakeImage<uint8_t>(desc, [](int64_t x, int64_t y, int ch) { return (x * 5 + y * 9 + ch * 70) % 256; });
  client::UploadOptions small_chunks;
  small_chunks.chunk_bytes = 1000;
  auto up = c().Upload("rgb", *src, small_chunks);
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_EQ(up->channels(), 3);
  EXPECT_EQ(up->gpu_bytes_level0(), 77 * 41 * 3);
  v1::RenderRequest r = SimpleRender("rgb", 77, 41);
  r.mutable_camera()->set_zoom(1);
  r.set_format(v1::RAW_RGBA8);
  auto px = c().Render(r);
  ASSERT_TRUE(px.ok());
  size_t wrong = 0;
  for (int64_t i = 0; i < 77 * 41; ++i) {
    for (int ch = 0; ch < 3; ++ch) wrong += static_cast<uint8_t>(px->data()[i * 4 + ch]) != src->contiguous(0)[i * 3 + ch];
  }
  EXPECT_EQ(wrong, 0u);
  ASSERT_TRUE(c().Unload("rgb").ok());

  // A source that claims more rows than it has: the stream ends short.
  class Short : public ImageSource {
   public:
    const ImageDesc& desc() const override { return d; }
    std::vector<SourceLevel> levels() const override { return {{0, 100, 10, 100, 1}}; }  // a row a chunk
    Status ReadChunk(int, int, int64_t, int64_t cy, uint8_t* dst, size_t) override {
      if (cy >= 5) return DataLoss("simulated read failure");
      std::fill_n(dst, 100, uint8_t{1});
      return Status::Ok();
    }
    ImageDesc d{100, 10, PixelType::kUint8, 1};
  } short_src;
  client::UploadOptions rows;
  rows.chunk_bytes = 500;  // 5 rows per chunk
  EXPECT_FALSE(c().Upload("short", short_src, rows).ok());
  ExpectStillServing(before);
}

// The wire protocol directly, through the generated stub: the client library always sends exactly
// the announced bytes, so mismatches are made here.
grpc::Status RawUpload(const std::string& address, const std::vector<v1::UploadImageRequest>& msgs) {
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  auto stub = v1::TileRender::NewStub(channel);
  grpc::ClientContext ctx;
  v1::ImageInfo info;
  auto writer = stub->UploadImage(&ctx, &info);
  for (const auto& m : msgs) {
    if (!writer->Write(m)) break;
  }
  writer->WritesDone();
  return writer->Finish();
}

v1::UploadImageRequest Header(const std::string& id, int64_t w, int64_t h) {
  v1::UploadImageRequest m;
  m.mutable_header()->set_image_id(id);
  m.mutable_header()->set_width(w);
  m.mutable_header()->set_height(h);
  m.mutable_header()->set_pixel_type(v1::UINT8);
  m.mutable_header()->set_channels(1);
  return m;
}

v1::UploadImageRequest Chunk(size_t n) {
  v1::UploadImageRequest m;
  m.set_chunk(std::string(n, '\x07'));
  return m;
}

TEST_F(DaemonTest, UploadSizeMismatchIsInvalidArgument) {
  const auto before = Ids();
  const std::string& a = daemon_->address();
  // 10 x 10 uint8 = 100 bytes announced.
  EXPECT_EQ(RawUpload(a, {Header("m", 10, 10), Chunk(60), Chunk(39)}).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(RawUpload(a, {Header("m", 10, 10), Chunk(60), Chunk(41)}).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(RawUpload(a, {Header("m", 10, 10)}).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(RawUpload(a, {Chunk(100)}).error_code(), grpc::StatusCode::INVALID_ARGUMENT) << "no header";
  EXPECT_EQ(RawUpload(a, {}).error_code(), grpc::StatusCode::INVALID_ARGUMENT) << "empty stream";
  EXPECT_EQ(RawUpload(a, {Header("m", 10, 10), Chunk(50), Header("m", 10, 10)}).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(RawUpload(a, {Header("m", 0, 10)}).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ExpectStillServing(before);
  // Exactly 100 bytes, in any chunking, is an image.
  EXPECT_TRUE(RawUpload(a, {Header("m", 10, 10), Chunk(1), Chunk(0), Chunk(99)}).ok());
  EXPECT_TRUE(c().Unload("m").ok());
}

TEST_F(DaemonTest, UploadCancelledHalfwayLeavesNothing) {
  const auto before = Ids();
  ExpectStillServing(before);  // "base" is resident before and after
  auto stats0 = c().Stats();
  const ImageDesc desc{1000, 1000, PixelType::kUint16, 1};
  auto src = MakeImage<uint16_t>(desc, [](int64_t x, int64_t y, int) { return x + y; });
  client::UploadOptions o;
  o.chunk_bytes = 100000;
  o.progress = [](size_t sent, size_t total) { return sent < total / 2; };
  auto up = c().Upload("cancelled", *src, o);
  EXPECT_EQ(up.status().code(), StatusCode::kCancelled);
  ExpectStillServing(before);
  auto stats1 = c().Stats();
  EXPECT_EQ(stats1->gpu_bytes_used(), stats0->gpu_bytes_used());
  EXPECT_EQ(stats1->images(), stats0->images());
  // The id is released once the daemon's handler has seen the cancellation, which happens
  // asynchronously to our call returning: allow it a moment (bounded), then upload under it.
  Result<v1::ImageInfo> again = AlreadyExists("");
  for (int i = 0; i < 200 && again.status().code() == StatusCode::kAlreadyExists; ++i) {
    again = c().Upload("cancelled", *src);
    if (again.status().code() == StatusCode::kAlreadyExists) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(c().Unload("cancelled").ok());
}

TEST_F(DaemonTest, UploadProtocolErrors) {
  const auto before = Ids();
  // Header beyond the daemon's limits (2^21 pixels a side): refused before any pixel is sent.
  class Huge : public ImageSource {
   public:
    const ImageDesc& desc() const override { return d; }
    std::vector<SourceLevel> levels() const override { return {{0, d.width, d.height, d.width, 1}}; }
    Status ReadChunk(int, int, int64_t, int64_t, uint8_t*, size_t) override { return Status::Ok(); }
    ImageDesc d{int64_t{1} << 21, int64_t{1} << 21, PixelType::kFloat32, 1};
  } huge;
  EXPECT_EQ(c().Upload("huge", huge).status().code(), StatusCode::kInvalidArgument);
  auto src = MakeImage<uint8_t>({10, 10, PixelType::kUint8, 1}, [](int64_t, int64_t, int) { return 0; });
  EXPECT_EQ(c().Upload("base", *src).status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(c().Upload("", *src).status().code(), StatusCode::kInvalidArgument);
  ExpectStillServing(before);
}

TEST_F(DaemonTest, RenderStreamAnswersInOrderAndSurvivesBadItems) {
  std::vector<v1::RenderRequest> reqs;
  for (int i = 0; i < 12; ++i) {
    v1::RenderRequest r = SimpleRender(i == 4 ? "missing" : "base", 40 + i, 30);
    if (i == 7) r.mutable_camera()->set_zoom(-1);
    reqs.push_back(r);
  }
  std::vector<int> codes;
  std::vector<uint32_t> widths;
  const Status s = c().RenderStream(reqs, [&](size_t index, Result<v1::RenderResponse> r) {
    EXPECT_EQ(index, codes.size()) << "answers come in request order";
    codes.push_back(static_cast<int>(r.status().code()));
    widths.push_back(r.ok() ? r->width() : 0);
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(codes.size(), 12u);
  for (int i = 0; i < 12; ++i) {
    if (i == 4) {
      EXPECT_EQ(codes[i], static_cast<int>(StatusCode::kNotFound));
    } else if (i == 7) {
      EXPECT_EQ(codes[i], static_cast<int>(StatusCode::kInvalidArgument));
    } else {
      EXPECT_EQ(codes[i], 0);
      EXPECT_EQ(widths[i], 40u + i);
    }
  }
}

// A deadline that passes while the render waits in the queue (held there by the render pause,
// however fast the renderer): the client gets DEADLINE_EXCEEDED, and the daemon drops the render
// when its turn comes instead of drawing a frame no one will read (not counted as served), then
// serves the next one.
TEST_F(DaemonTest, DeadlineTooShortIsReportedAndDaemonServes) {
  const auto before = Ids();
  auto stats_before = c().Stats();
  ASSERT_TRUE(stats_before.ok());
  v1::RenderRequest r = SimpleRender("base", 2048, 2048);
  r.set_png_level(9);
  daemon_->PauseRenders();
  const auto start = std::chrono::steady_clock::now();
  auto out = c().Render(r, std::chrono::milliseconds(300));
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(out.status().code(), StatusCode::kDeadlineExceeded) << out.status().ToString();
  EXPECT_GE(waited, std::chrono::milliseconds(290));
  auto held = c().Stats();
  ASSERT_TRUE(held.ok());
  EXPECT_EQ(held->queue_depth(), 1) << "the render reached the queue and waits there";
  daemon_->ResumeRenders();
  ExpectStillServing(before);  // queued behind the dropped one: it ran by the time this answers
  auto after = c().Stats();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->queue_depth(), 0);
  EXPECT_EQ(after->renders_served(), stats_before->renders_served() + 1) << "only ExpectStillServing's render was drawn";
  EXPECT_EQ(after->render_errors(), stats_before->render_errors() + 1) << "the dropped render counts as an error";
}

TEST_F(DaemonTest, CliCommands) {
  const std::string cli = std::string(TILERENDER_CLI_PATH) + " --server " + daemon_->address();
  std::string out;
  ASSERT_EQ(RunCommand(cli + " info", &out), 0);
  auto info = c().Info();
  EXPECT_NE(out.find(info->gl_renderer()), std::string::npos) << out;
  EXPECT_NE(out.find("max texture size: " + std::to_string(info->max_texture_size())), std::string::npos) << out;
  EXPECT_NE(out.find("max output:"), std::string::npos);
  ASSERT_EQ(RunCommand(cli + " ls", &out), 0);
  EXPECT_NE(out.find("base"), std::string::npos);
  ASSERT_EQ(RunCommand(cli + " health", &out), 0);
  EXPECT_EQ(out, "SERVING\n");
  // render to a file, equal to the client library's render of the same request.
  const std::string png = daemon_->data_root() + "/../cli.png";
  ASSERT_EQ(RunCommand(cli + " render --id base --size 200x100 --zoom 0.7 --rotate 15 --colormap magma"
                       " --contrast 1000,9000 --gamma 1.2 --interp linear -o " + png, &out), 0) << out;
  v1::RenderRequest r = SimpleRender("base", 200, 100);
  r.mutable_camera()->set_zoom(0.7);
  r.mutable_camera()->set_rotation_deg(15);
  v1::Layer* l = r.mutable_layers(0);
  l->mutable_colormap()->set_name("magma");
  l->mutable_contrast()->set_lo(1000);
  l->mutable_contrast()->set_hi(9000);
  l->set_gamma(1.2);
  l->set_interpolation(v1::LINEAR);
  auto lib = c().Render(r);
  ASSERT_TRUE(lib.ok());
  std::ifstream f(png, std::ios::binary);
  const std::string file((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(file, lib->data());
  // Failures: 1 with the status on stderr; usage errors: 2.
  EXPECT_EQ(RunCommand(cli + " render --id nope -o /dev/null 2>&1", &out), 1);
  EXPECT_NE(out.find("NOT_FOUND"), std::string::npos) << out;
  EXPECT_EQ(RunCommand(cli + " render --id base --size 10 -o /dev/null 2>/dev/null", &out), 2);
  EXPECT_EQ(RunCommand(cli + " frobnicate 2>/dev/null", &out), 2);
  EXPECT_EQ(RunCommand(cli + " unload nope 2>/dev/null", &out), 1);
  EXPECT_EQ(RunCommand(cli + " render --help", &out), 0);
  EXPECT_NE(out.find("--colormap"), std::string::npos);
}

TEST_F(DaemonTest, MultiChannelUploadListsChannelsAndRendersComposites) {
  const auto before = Ids();
  // Three uint16 planes, each its own range, uploaded in numpy's (C, H, W) order.
  ImageDesc d{200, 150, PixelType::kUint16, 1, 3};
  auto stack = BufferSource::Allocate(d);
  ASSERT_TRUE(stack.ok());
  for (int c = 0; c < 3; ++c) {
    auto* px = reinterpret_cast<uint16_t*>((*stack)->mutable_data() + c * d.plane_bytes());
    for (int64_t i = 0; i < d.width * d.height; ++i) px[i] = static_cast<uint16_t>(1000 * (c + 1) + (i * (7 + c)) % 3000);
  }
  std::shared_ptr<BufferSource> shared = std::move(stack).value();
  auto up = c().Upload("cells3", *shared);
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_EQ(up->planes(), 3);
  ASSERT_EQ(up->channel_info_size(), 3);
  for (int ch = 0; ch < 3; ++ch) {
    EXPECT_EQ(up->channel_info(ch).value_min(), 1000 * (ch + 1)) << ch;
    EXPECT_LE(up->channel_info(ch).value_max(), 1000 * (ch + 1) + 2999) << ch;
  }
  // The CLI shows the channels and renders a composite equal to the library's layers.
  const std::string cli = std::string(TILERENDER_CLI_PATH) + " --server " + daemon_->address();
  std::string out;
  ASSERT_EQ(RunCommand(cli + " ls", &out), 0);
  EXPECT_NE(out.find("3 planes"), std::string::npos) << out;
  EXPECT_NE(out.find("channel 2  range [3000,"), std::string::npos) << out;
  const std::string png = daemon_->data_root() + "/../composite.png";
  ASSERT_EQ(RunCommand(cli + " render --id cells3 --size 160x120 --interp linear --channels 0:green,1:magenta,2:cyan -o " + png, &out),
            0) << out;
  v1::RenderRequest r = SimpleRender("cells3", 160, 120);
  r.clear_layers();
  const char* maps[3] = {"green", "magenta", "cyan"};
  for (int ch = 0; ch < 3; ++ch) {
    v1::Layer* l = r.add_layers();
    l->set_image_id("cells3");
    l->set_channel(ch);
    l->mutable_colormap()->set_name(maps[ch]);
    l->set_blending(v1::ADDITIVE);
    l->set_interpolation(v1::LINEAR);
  }
  auto lib = c().Render(r);
  ASSERT_TRUE(lib.ok()) << lib.status().ToString();
  std::ifstream f(png, std::ios::binary);
  const std::string file((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(file, lib->data());
  // Channel 1 alone through the daemon equals channel 1 in this process.
  auto local = TestEngine().LoadImage(shared);
  ASSERT_TRUE(local.ok());
  v1::RenderRequest one = SimpleRender("cells3", 100, 80);
  one.set_format(v1::RAW_RGBA8);
  one.mutable_layers(0)->set_channel(1);
  auto remote = c().Render(one);
  ASSERT_TRUE(remote.ok());
  RenderRequest req{.width = 100, .height = 80, .format = OutputFormat::kRawRgba8};
  req.layers.push_back({.image = *local, .channel = 1});
  const std::vector<uint8_t> mine = RenderRgba(req);
  EXPECT_TRUE(mine.size() == remote->data().size() && std::memcmp(mine.data(), remote->data().data(), mine.size()) == 0);
  // A channel the image lacks, and a bad --channels list.
  one.mutable_layers(0)->set_channel(3);
  EXPECT_EQ(c().Render(one).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(RunCommand(cli + " render --id cells3 --channels 0green -o /dev/null 2>/dev/null", &out), 2);
  ASSERT_TRUE(c().Unload("cells3").ok());
  ExpectStillServing(before);
}

TEST_F(DaemonTest, CliUploadsLocalFile) {
  const auto ramp = Ramp16(120, 80);
  const std::string path = daemon_->data_root() + "/../local.npy";
  WriteNpy(path, "<u2", {80, 120}, ramp.data(), ramp.size() * 2);
  const std::string cli = std::string(TILERENDER_CLI_PATH) + " --server " + daemon_->address();
  std::string out;
  ASSERT_EQ(RunCommand(cli + " upload " + path + " --id local 2>/dev/null", &out), 0) << out;
  EXPECT_NE(out.find("local"), std::string::npos);
  auto list = c().List();
  const auto it = std::find_if(list->begin(), list->end(), [](const auto& i) { return i.image_id() == "local"; });
  ASSERT_NE(it, list->end());
  EXPECT_EQ(it->width(), 120);
  EXPECT_EQ(it->value_max(), *std::max_element(ramp.begin(), ramp.end()));
  ASSERT_TRUE(c().Unload("local").ok());
}

// A render of the whole of level 0 (one output pixel per image pixel), raw RGBA.
v1::RenderRequest FullRender(const v1::ImageInfo& info, const std::string& id) {
  v1::RenderRequest r = SimpleRender(id, static_cast<uint32_t>(info.width()), static_cast<uint32_t>(info.height()));
  r.mutable_camera()->set_zoom(1);
  r.set_format(v1::RAW_RGBA8);
  return r;
}

TEST_F(DaemonTest, LoadsEverySharedTestFileThenServes) {
  // Every PNG of PngSuite and every libtiff test image through LoadImage, then a copy of each TIFF
  // cut to a third. A cut file is refused (INVALID_ARGUMENT naming it), or, where what it needs
  // survived the cut, loads as the same image: a full-resolution render equal to the whole file's,
  // or DATA_LOSS naming the file for data that is gone (a missing tile fails the renders that need
  // it). Never an image with what could not be read filled in. Then the daemon keeps serving.
  const auto before = Ids();
  const std::string shared = TESTDATA_DIR;
  int loaded = 0, refused = 0, same = 0;
  for (const char* sub : {"pngsuite", "libtiff"}) {
    for (const auto& e : std::filesystem::directory_iterator(shared + "/" + sub)) {
      const std::string ext = e.path().extension().string();
      if (ext != ".png" && ext != ".tif" && ext != ".tiff") continue;
      const std::string name = std::string(sub) + "_" + e.path().filename().string();
      std::filesystem::copy_file(e.path(), daemon_->data_root() + "/" + name);
      auto r = c().Load(name, "shared");
      ASSERT_TRUE(r.ok()) << name << ": " << r.status().ToString();
      ++loaded;
      if (ext != ".png") {
        auto whole = c().Render(FullRender(*r, "shared"));
        ASSERT_TRUE(whole.ok()) << name << ": " << whole.status().ToString();
        const auto size = std::filesystem::file_size(e.path());
        const std::string cut_name = "cut_" + name;
        std::filesystem::copy_file(e.path(), daemon_->data_root() + "/" + cut_name);
        std::filesystem::resize_file(daemon_->data_root() + "/" + cut_name, size / 3);
        auto cut = c().Load(cut_name, "cut");
        if (!cut.ok()) {
          EXPECT_EQ(cut.status().code(), StatusCode::kInvalidArgument) << name << ": " << cut.status().ToString();
          EXPECT_NE(cut.status().message().find(cut_name), std::string::npos) << cut.status().message();
          ++refused;
        } else {
          EXPECT_EQ(cut->width(), r->width()) << name;
          EXPECT_EQ(cut->height(), r->height()) << name;
          auto part = c().Render(FullRender(*cut, "cut"));
          if (part.ok()) {
            EXPECT_TRUE(part->data() == whole->data()) << name << ": the cut file loads as another image";
            ++same;
          } else {
            EXPECT_EQ(part.status().code(), StatusCode::kDataLoss) << name << ": " << part.status().ToString();
            EXPECT_NE(part.status().message().find(cut_name), std::string::npos) << part.status().message();
          }
          ASSERT_TRUE(c().Unload("cut").ok());
        }
      }
      ASSERT_TRUE(c().Unload("shared").ok());
    }
  }
  EXPECT_EQ(loaded, 60 + 31);
  EXPECT_GT(refused, 25) << "most of the 31 TIFFs lose their directory or data in the cut";
  std::printf("cut TIFFs: %d refused, %d the same image\n", refused, same);
  ExpectStillServing(before);
}

TEST(DaemonLimitsTest, RepliesBeyondTheMessageLimitAreResourceExhausted) {
  Daemon d({"--max-message-bytes", "1048576"});
  // Noise compresses badly: a 1024 x 1024 stored PNG is ~4 MB, as is the raw output.
  std::vector<uint8_t> noise(1024 * 1024);
  for (size_t i = 0; i < noise.size(); ++i) noise[i] = static_cast<uint8_t>((i * 2654435761u) >> 24);
  WriteNpy(d.data_root() + "/noise.npy", "|u1", {1024, 1024}, noise.data(), noise.size());
  ASSERT_TRUE(d.client().Load("noise.npy", "noise").ok());
  v1::RenderRequest r = SimpleRender("noise", 1024, 1024);
  r.mutable_camera()->set_zoom(1);
  r.set_format(v1::RAW_RGBA8);
  auto raw = d.client().Render(r);
  EXPECT_EQ(raw.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(raw.status().message().find("message limit"), std::string::npos) << raw.status().message();
  r.set_format(v1::PNG);
  r.set_png_level(0);
  auto png = d.client().Render(r);
  EXPECT_EQ(png.status().code(), StatusCode::kResourceExhausted) << png.status().ToString();
  // Within the limit all is well.
  EXPECT_TRUE(d.client().Render(SimpleRender("noise", 256, 256)).ok());
}

TEST(DaemonBudgetTest, ImagesLargerThanTheCachesRenderThroughThem) {
  // 1 MiB of GPU tiles and 256 KiB of host cache for a 4 MB image: it loads and renders all the
  // same, pixel for pixel as the in-process engine with roomy caches, and the budgets hold.
  Daemon d({"--gpu-budget", "1M", "--host-cache", "256K", "--max-tile-size", "128"});
  std::vector<uint16_t> big(2000 * 1000);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint16_t>((i % 2000) * 31 + (i / 2000) * 17);
  WriteNpy(d.data_root() + "/big.npy", "<u2", {1000, 2000}, big.data(), big.size() * 2);
  auto loaded = d.client().Load("big.npy");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_GT(loaded->gpu_bytes(), 4'000'000) << "all its tiles would not fit the budget at once";
  auto up = d.client().Upload("big2", *OpenImageFile(d.data_root() + "/big.npy")->source);
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  auto file = OpenImageFile(d.data_root() + "/big.npy");
  ASSERT_TRUE(file.ok());
  ImageHandle local = Load(file->source, 128);
  struct View {
    double cx, cy, zoom, rot;
  };
  std::vector<View> views = {{1000, 500, 0.6, 0}, {700, 300, 1.0, 0}, {1500, 800, 2.5, 33}, {1000, 500, 0.1, 0}, {20, 20, 1.5, -10}};
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(0, 1);
  for (int i = 0; i < 15; ++i) views.push_back({2000 * u(rng), 1000 * u(rng), std::exp2(-5 + 7 * u(rng)), u(rng) < 0.3 ? 90 * u(rng) : 0});
  for (const char* id : {"big.npy", "big2"}) {
    for (const View& v : views) {
      v1::RenderRequest r = SimpleRender(id, 900, 700);
      r.set_format(v1::RAW_RGBA8);
      r.mutable_camera()->set_center_x(v.cx);
      r.mutable_camera()->set_center_y(v.cy);
      r.mutable_camera()->set_zoom(v.zoom);
      r.mutable_camera()->set_rotation_deg(v.rot);
      r.mutable_layers(0)->set_interpolation(v1::LINEAR);
      auto remote = d.client().Render(r);
      ASSERT_TRUE(remote.ok()) << remote.status().ToString();
      RenderRequest req{.width = 900, .height = 700, .format = OutputFormat::kRawRgba8};
      req.camera = {.center_x = v.cx, .center_y = v.cy, .zoom = v.zoom, .rotation_deg = v.rot};
      req.layers.push_back({.image = local, .contrast = Contrast{loaded->value_min(), loaded->value_max()},
                            .interpolation = Interpolation::kLinear});
      const std::vector<uint8_t> mine = RenderRgba(req);
      EXPECT_TRUE(mine.size() == remote->data().size() && std::memcmp(mine.data(), remote->data().data(), mine.size()) == 0)
          << id << " at zoom " << v.zoom;
      auto stats = d.client().Stats();
      ASSERT_TRUE(stats.ok());
      EXPECT_LE(stats->gpu_cache().bytes(), 1 << 20);
      EXPECT_LE(stats->host_cache().bytes(), 256 << 10);
    }
  }
  auto stats = d.client().Stats();
  EXPECT_GT(stats->gpu_cache().evictions(), 0);
  EXPECT_EQ(stats->gpu_cache().budget_bytes(), 1 << 20);
}

TEST(DaemonBudgetTest, CorruptTileFailsItsRenderOnlyAndTheDaemonGoesOn) {
  Daemon d({"--host-cache", "1M"});
  // A two-level deflate page pyramid (2000 x 1500, 1000 x 750, 64 x 64 tiles); one level-0 tile's
  // compressed bytes are then overwritten. Loading reads the coarser level only, so the damage is
  // found when a render first needs that tile.
  const std::string path = d.data_root() + "/damaged.tif";
  TIFF* t = TIFFOpen(path.c_str(), "w");
  ASSERT_TRUE(t);
  for (int k = 0; k < 2; ++k) {
    const uint32_t w = 2000 >> k, h = 1500 >> k;
    SetTiledGrayPage(t, w, h, 8, 64, k > 0);
    std::vector<uint8_t> tile(64 * 64);
    for (uint32_t ty = 0; ty < h; ty += 64) {
      for (uint32_t tx = 0; tx < w; tx += 64) {
        for (size_t i = 0; i < tile.size(); ++i) tile[i] = static_cast<uint8_t>((tx + i % 64) * 3 + (ty + i / 64) * 7);
        ASSERT_GE(TIFFWriteEncodedTile(t, TIFFComputeTile(t, tx, ty, 0, 0), tile.data(), tile.size()), 0);
      }
    }
    ASSERT_TRUE(TIFFWriteDirectory(t));
  }
  TIFFClose(t);
  uint64_t offset = 0, bytes = 0;
  t = TIFFOpen(path.c_str(), "r");
  const uint32_t bad = TIFFComputeTile(t, 1280, 640, 0, 0);  // pixels [1280, 1344) x [640, 704)
  offset = TIFFGetStrileOffset(t, bad);
  bytes = TIFFGetStrileByteCount(t, bad);
  TIFFClose(t);
  ASSERT_GT(bytes, 8u);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(offset));
    const std::string junk(static_cast<size_t>(bytes), '\x5a');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  ASSERT_TRUE(d.client().Load("damaged.tif", "damaged").ok());
  std::vector<uint8_t> ramp(64 * 64, 7);
  WriteNpy(d.data_root() + "/other.npy", "|u1", {64, 64}, ramp.data(), ramp.size());
  ASSERT_TRUE(d.client().Load("other.npy", "other").ok());
  // A walk across the image at 1:1: exactly the views that need the GPU tile holding the damaged
  // file tile fail (256-pixel tiles, four file tiles each: [1280, 1536) x [512, 768)); the rest render.
  int failed = 0, ok = 0;
  for (int y = 100; y < 1500; y += 200) {
    for (int x = 100; x < 2000; x += 300) {
      v1::RenderRequest r = SimpleRender("damaged", 200, 150);
      r.mutable_camera()->set_center_x(x);
      r.mutable_camera()->set_center_y(y);
      r.mutable_camera()->set_zoom(1);
      auto out = d.client().Render(r);
      const bool covers = x + 100 > 1280 && x - 100 < 1536 && y + 75 > 512 && y - 75 < 768;
      if (covers) {
        ++failed;
        EXPECT_EQ(out.status().code(), StatusCode::kDataLoss) << x << "," << y << ": " << out.status().ToString();
        EXPECT_EQ(out.status().message().rfind("damaged.tif: ", 0), 0u) << "named under the data root: " << out.status().message();
        EXPECT_NE(out.status().message().find("cannot decode tile (20, 10)"), std::string::npos) << out.status().message();
      } else {
        ++ok;
        EXPECT_TRUE(out.ok()) << x << "," << y << ": " << out.status().ToString();
      }
      ASSERT_TRUE(d.client().Render(SimpleRender("other")).ok());
    }
  }
  EXPECT_GE(failed, 1);
  EXPECT_GE(ok, 40);
  // Zoomed out it draws the file's own level 1, which is sound.
  EXPECT_TRUE(d.client().Render(SimpleRender("damaged", 500, 375)).ok());
  auto stats = d.client().Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->render_errors(), failed);
  EXPECT_EQ(d.client().List()->size(), 2u) << "nothing loaded is lost";
}

TEST(DaemonOmeZarrTest, LoadsAStoreWithChannelNamesAndChosenPlanes) {
  Daemon d;
  const std::string dir = d.data_root() + "/cells.ome.zarr";
  WriteOmeGroup(dir, 3, "czyx", 2, {{"channels", {{{"label", "DAPI"}, {"color", "0000FF"}}, {{"label", "GFP"}, {"color", "00FF00"}}}}});
  auto value = [](const std::vector<int64_t>& i) { return 100.0 * i[0] + 10.0 * i[1] + (i[2] + i[3]) % 50; };
  WriteZarrArray(dir + "/0", {.version = 3, .shape = {2, 4, 300, 400}, .chunks = {1, 1, 128, 128}, .codec = "zstd"}, value);
  WriteZarrArray(dir + "/1", {.version = 3, .shape = {2, 4, 150, 200}, .chunks = {1, 1, 128, 128}, .codec = "zstd"}, value);
  auto info = d.client().Load("cells.ome.zarr", "cells", 0, /*z=*/3);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->format(), "ome-zarr v3");
  EXPECT_EQ(info->planes(), 2);
  ASSERT_EQ(info->channel_info_size(), 2);
  EXPECT_EQ(info->channel_info(0).name(), "DAPI");
  EXPECT_EQ(info->channel_info(1).color(), 0x00FF00FFu);
  EXPECT_TRUE(info->level_info(1).from_file());
  EXPECT_GE(info->channel_info(1).value_min(), 130) << "GFP at z 3: 100 + 30 + ...";
  std::string out;
  ASSERT_EQ(RunCommand(std::string(TILERENDER_CLI_PATH) + " --server " + d.address() + " ls", &out), 0);
  EXPECT_NE(out.find("channel 0 DAPI"), std::string::npos) << out;
  EXPECT_NE(out.find("color #00ff00ff"), std::string::npos) << out;
  // A z the store lacks, and a directory that is not a store.
  EXPECT_EQ(d.client().Load("cells.ome.zarr", "bad", 0, /*z=*/4).status().code(), StatusCode::kInvalidArgument);
  std::filesystem::create_directories(d.data_root() + "/empty");
  EXPECT_EQ(d.client().Load("empty", "empty").status().code(), StatusCode::kInvalidArgument);
  v1::RenderRequest r = SimpleRender("cells", 200, 150);
  r.mutable_layers(0)->set_channel(1);
  EXPECT_TRUE(d.client().Render(r).ok());
  // An OME-TIFF: channel names and the pixel size show in `tilerender ls`.
  WriteOmeTiff(d.data_root() + "/three.ome.tif", 3, 1);
  auto ome = d.client().Load("three.ome.tif", "three");
  ASSERT_TRUE(ome.ok()) << ome.status().ToString();
  EXPECT_EQ(ome->format(), "ome-tiff");
  EXPECT_DOUBLE_EQ(ome->pixel_size_x_um(), 0.325);
  ASSERT_EQ(RunCommand(std::string(TILERENDER_CLI_PATH) + " --server " + d.address() + " ls", &out), 0);
  EXPECT_NE(out.find("pixel size 0.325 x 0.325 um"), std::string::npos) << out;
  EXPECT_NE(out.find("channel 2 mCherry"), std::string::npos) << out;
  // A scale bar over gRPC from the CLI: 0.325 um/px at zoom 1/8 is 2.6 um per output pixel; a fifth of
  // 400 px is 208 um, so the bar stands for 200 um.
  const std::string png = d.data_root() + "/../bar.png";
  ASSERT_EQ(RunCommand(std::string(TILERENDER_CLI_PATH) + " --server " + d.address() +
                           " render --id three --size 400x300 --zoom 0.125 --scale-bar top-left -o " + png, &out), 0)
      << out;
  EXPECT_NE(out.find("scale bar: 200 um"), std::string::npos) << out;
  // For a store without units (no pixel size) the bar is refused with the reason; the daemon serves on.
  v1::RenderRequest bar = SimpleRender("cells", 200, 150);
  bar.mutable_scale_bar()->set_corner(v1::ScaleBar::TOP_RIGHT);
  auto refused = d.client().Render(bar);
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("pixel size"), std::string::npos) << refused.status().message();
  bar.mutable_scale_bar()->set_corner(static_cast<v1::ScaleBar::Corner>(7));
  bar.mutable_layers(0)->set_image_id("three");
  EXPECT_EQ(d.client().Render(bar).status().code(), StatusCode::kInvalidArgument) << "unknown corner";
  bar.mutable_scale_bar()->set_corner(v1::ScaleBar::TOP_RIGHT);
  auto drawn = d.client().Render(bar);
  ASSERT_TRUE(drawn.ok()) << drawn.status().ToString();
  EXPECT_GT(drawn->scale_bar_um(), 0);
}

TEST(DaemonOpenSlideTest, RefusedSlidesLeaveTheDaemonServing) {
  Daemon d;
  for (const char* name : {"small.svs", "unopenable.tiff", "unreadable.svs"}) {
    std::filesystem::copy_file(std::string(TESTDATA_DIR) + "/openslide/" + name, d.data_root() + "/" + name);
  }
  v1::LoadImageRequest forced;
  forced.set_path("unopenable.tiff");
  forced.set_image_id("u1");
  forced.set_reader("openslide");
  auto unopenable = d.client().Load(forced);
  EXPECT_EQ(unopenable.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unopenable.status().message().find("OpenSlide"), std::string::npos) << unopenable.status().message();
  auto unreadable = d.client().Load("unreadable.svs", "u2");
  EXPECT_EQ(unreadable.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unreadable.status().message().find("OpenSlide cannot read its pixels"), std::string::npos)
      << unreadable.status().message();
  auto small = d.client().Load("small.svs", "small");
  ASSERT_TRUE(small.ok()) << small.status().ToString();
  EXPECT_EQ(small->format(), "openslide aperio");
  EXPECT_DOUBLE_EQ(small->pixel_size_x_um(), 0.499);
  EXPECT_TRUE(d.client().Render(SimpleRender("small", 16, 16)).ok());
  ASSERT_EQ(d.client().List()->size(), 1u) << "the refused ids are free, the slide is loaded";
  forced.set_path("unreadable.svs");
  EXPECT_EQ(d.client().Load(forced).status().code(), StatusCode::kInvalidArgument) << "and again, forced";
}

}  // namespace
}  // namespace tilerender::testing
