// tilerender batch and compare, end to end: a 22-view manifest over uint8, uint16 and RGB images,
// plus one bad view, through the real daemon and CLI; determinism across daemon restarts.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "client/batch.h"
#include "client/compare.h"
#include "tests/daemon_fixture.h"
#include "tests/temp_dir.h"

namespace tilerender::testing {
namespace {

namespace fs = std::filesystem;
namespace v1 = ::tilerender::v1;

const std::string kManifest = std::string(SOURCE_DIR) + "/docker/regression/manifest.json";

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

std::string Cli(const Daemon& d) { return std::string(TILERENDER_CLI_PATH) + " --server " + d.address(); }

// The regression manifest with two bad views added: one the daemon refuses (unknown colormap), one
// the manifest check refuses (a typo'd field). Written beside the original so upload paths resolve.
std::string ManifestWithBadViews(const std::string& dir) {
  std::ifstream in(kManifest);
  nlohmann::json m = nlohmann::json::parse(in);
  m["views"].push_back({{"name", "bad-colormap"}, {"image", "gray8"}, {"colormap", "jet"}});
  m["views"].push_back({{"name", "bad-field"}, {"image", "gray8"}, {"zom", 2}});
  for (auto& img : m["images"]) img["upload"] = std::string(SOURCE_DIR) + "/tests/data/" + fs::path(img["upload"].get<std::string>()).filename().string();
  const std::string path = dir + "/manifest.json";
  std::ofstream(path) << m.dump(2);
  return path;
}

TEST(BatchTest, EveryViewEqualsItsSingleRenderAndBadViewsFailAlone) {
  Daemon d;
  const std::string work = d.data_root() + "/..";
  const std::string manifest = ManifestWithBadViews(work);
  const std::string out_dir = work + "/out";
  std::string out;
  const int code = RunCommand(Cli(d) + " batch " + manifest + " --out-dir " + out_dir + " --keep-images --jobs 3 2>&1", &out);
  EXPECT_EQ(code, 1) << "a failed view makes the batch exit 1\n" << out;
  EXPECT_NE(out.find("24 views: 22 rendered, 2 failed"), std::string::npos) << out;
  EXPECT_NE(out.find("'bad-colormap'): INVALID_ARGUMENT"), std::string::npos) << out;
  EXPECT_NE(out.find("field 'zom' is not a view field"), std::string::npos) << out;

  auto views = client::ReadManifestViews(manifest);
  ASSERT_TRUE(views.ok());
  ASSERT_EQ(views->size(), 24u);
  int compared = 0;
  for (const client::ManifestView& v : *views) {
    if (v.name.rfind("bad-", 0) == 0) {
      EXPECT_FALSE(fs::exists(out_dir + "/" + v.name + ".png"));
      continue;
    }
    ASSERT_TRUE(v.request.ok()) << v.name;
    auto single = d.client().Render(*v.request);
    ASSERT_TRUE(single.ok()) << v.name << ": " << single.status().ToString();
    EXPECT_EQ(ReadFile(out_dir + "/" + v.output), single->data()) << v.name;
    ++compared;
  }
  EXPECT_EQ(compared, 22);
  // And through the CLI's own option mapping, for a view expressible with `render`.
  ASSERT_EQ(RunCommand(Cli(d) + " render --id zone16 --size 480x360 --colormap viridis --contrast 10000,50000"
                       " --gamma 0.6 --interp linear -o " + work + "/single.png", &out), 0) << out;
  EXPECT_EQ(ReadFile(work + "/single.png"), ReadFile(out_dir + "/zone-contrast-gamma.png"));
  // --keep-images left them loaded; without it they are unloaded.
  EXPECT_EQ(d.client().List()->size(), 3u);
}

TEST(BatchTest, ManifestErrorsAreUsageErrors) {
  Daemon d;
  const std::string work = d.data_root() + "/..";
  std::string out;
  std::ofstream(work + "/broken.json") << "{\"views\": [ {\"name\": ";
  EXPECT_EQ(RunCommand(Cli(d) + " batch " + work + "/broken.json --out-dir " + work + "/o 2>&1", &out), 2);
  EXPECT_NE(out.find("not valid JSON"), std::string::npos) << out;
  std::ofstream(work + "/noviews.json") << "{\"images\": []}";
  EXPECT_EQ(RunCommand(Cli(d) + " batch " + work + "/noviews.json --out-dir " + work + "/o 2>&1", &out), 2);
  EXPECT_EQ(RunCommand(Cli(d) + " batch " + work + "/missing.json --out-dir " + work + "/o 2>&1", &out), 2);
}

TEST(BatchTest, ScaleBarIsACornerOrAnObject) {
  TestTempDir tmp;
  const std::string dir = tmp.path();
  std::ofstream(dir + "/m.json") << R"({"views": [
    {"name": "a", "image": "x", "scale_bar": "top-left"},
    {"name": "b", "image": "x", "scale_bar": {"corner": "bottom-left", "color": "#ffff00"}},
    {"name": "c", "image": "x", "scale_bar": {}},
    {"name": "d", "image": "x", "scale_bar": "middle"},
    {"name": "e", "image": "x", "scale_bar": 3}]})";
  auto views = client::ReadManifestViews(dir + "/m.json");
  ASSERT_TRUE(views.ok()) << views.status().ToString();
  ASSERT_EQ(views->size(), 5u);
  ASSERT_TRUE((*views)[0].request.ok());
  EXPECT_EQ((*views)[0].request->scale_bar().corner(), v1::ScaleBar::TOP_LEFT);
  EXPECT_FALSE((*views)[0].request->scale_bar().has_color());
  ASSERT_TRUE((*views)[1].request.ok());
  EXPECT_EQ((*views)[1].request->scale_bar().corner(), v1::ScaleBar::BOTTOM_LEFT);
  EXPECT_EQ((*views)[1].request->scale_bar().color().b(), 0);
  EXPECT_EQ((*views)[1].request->scale_bar().color().g(), 1);
  ASSERT_TRUE((*views)[2].request.ok());
  EXPECT_EQ((*views)[2].request->scale_bar().corner(), v1::ScaleBar::BOTTOM_RIGHT);
  for (int i : {3, 4}) {
    EXPECT_EQ((*views)[i].request.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE((*views)[i].request.status().message().find("scale_bar"), std::string::npos)
        << (*views)[i].request.status().message();
  }
}

TEST(BatchTest, BadlyTypedImagesAndDuplicateOutputsAreReportedNotCrashes) {
  Daemon d;
  const std::string work = d.data_root() + "/..";
  std::ofstream(work + "/typed.json") << R"({
    "images": [{"id": "a", "path": 5}, {"id": "b", "upload": "x.png", "page": "1"},
               {"id": "c", "upload": ")" << SOURCE_DIR << R"(/tests/data/gray8.png"}],
    "views": [{"name": "one", "image": "c", "output": "same.png"},
              {"name": "two", "image": "c", "zoom": 2, "output": "same.png"}]})";
  std::string out;
  EXPECT_EQ(RunCommand(Cli(d) + " batch " + work + "/typed.json --out-dir " + work + "/o 2>&1", &out), 1) << out;
  EXPECT_NE(out.find("image 1: needs a string"), std::string::npos) << out;
  EXPECT_NE(out.find("image 2: needs a string"), std::string::npos) << out;
  EXPECT_NE(out.find("names the file 'same.png' of an earlier view"), std::string::npos) << out;
  EXPECT_NE(out.find("2 views: 1 rendered, 1 failed"), std::string::npos) << out;
  EXPECT_TRUE(fs::exists(work + "/o/same.png"));
}

TEST(DeterminismTest, SameRequestsGiveIdenticalPngsAcrossRunsAndRestarts) {
  std::map<std::string, std::string> first;
  for (int run = 0; run < 2; ++run) {
    Daemon d;  // a fresh daemon each run
    const std::string out_dir = d.data_root() + "/../out";
    for (int repeat = 0; repeat < 2; ++repeat) {
      std::string out;
      ASSERT_EQ(RunCommand(Cli(d) + " batch " + kManifest + " --out-dir " + out_dir + " 2>&1", &out), 0) << out;
      for (const auto& e : fs::directory_iterator(out_dir)) {
        const std::string name = e.path().filename().string();
        const std::string bytes = ReadFile(e.path().string());
        if (first.count(name)) {
          EXPECT_EQ(bytes, first[name]) << name << " differs (run " << run << ", repeat " << repeat << ")";
        } else {
          first[name] = bytes;
        }
      }
    }
    EXPECT_EQ(d.Stop(), 0);
  }
  EXPECT_EQ(first.size(), 22u);
}

class CompareTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.path();
    a_.width = 40;
    a_.height = 30;
    a_.px.resize(40 * 30 * 4);
    for (size_t i = 0; i < a_.px.size(); ++i) a_.px[i] = static_cast<uint8_t>(i % 4 == 3 ? 255 : i * 7);
    ASSERT_TRUE(client::WritePngRgba(dir_ + "/a.png", a_).ok());
  }
  int Compare(const std::string& args, std::string* out) {
    return RunCommand(std::string(TILERENDER_CLI_PATH) + " compare " + args + " 2>&1", out);
  }
  TestTempDir tmp_;
  std::string dir_;
  client::RgbaImage a_;
};

TEST_F(CompareTest, IdenticalOffByOneAndSizeMismatch) {
  std::string out;
  EXPECT_EQ(Compare(dir_ + "/a.png " + dir_ + "/a.png", &out), 0) << out;
  // One pixel off by 9 in green.
  client::RgbaImage b = a_;
  b.px[(12 * 40 + 7) * 4 + 1] += 9;
  ASSERT_TRUE(client::WritePngRgba(dir_ + "/b.png", b).ok());
  EXPECT_EQ(Compare(dir_ + "/a.png " + dir_ + "/b.png --tolerance 8", &out), 1) << out;
  EXPECT_NE(out.find("1 of 1200 pixels differ by more than 8 (max difference 9)"), std::string::npos) << out;
  EXPECT_EQ(Compare(dir_ + "/a.png " + dir_ + "/b.png --tolerance 9", &out), 0) << out;
  EXPECT_EQ(Compare(dir_ + "/a.png " + dir_ + "/b.png --max-pixels 1", &out), 0) << out;
  // The diff image marks exactly that pixel.
  EXPECT_EQ(Compare(dir_ + "/a.png " + dir_ + "/b.png --diff " + dir_ + "/d.png", &out), 1);
  auto diff = client::ReadPngRgba(dir_ + "/d.png");
  ASSERT_TRUE(diff.ok());
  int red = 0;
  for (size_t i = 0; i < diff->px.size(); i += 4) red += diff->px[i] == 255 && diff->px[i + 1] == 0 && diff->px[i + 2] == 0;
  EXPECT_EQ(red, 1);
  // Different sizes, unreadable files: 2, said clearly.
  client::RgbaImage small{10, 10, std::vector<uint8_t>(400, 255)};
  ASSERT_TRUE(client::WritePngRgba(dir_ + "/small.png", small).ok());
  EXPECT_EQ(Compare(dir_ + "/a.png " + dir_ + "/small.png", &out), 2);
  EXPECT_NE(out.find("size mismatch: 40x30 vs 10x10"), std::string::npos) << out;
  std::ofstream(dir_ + "/junk.png") << "not a png";
  EXPECT_EQ(Compare(dir_ + "/a.png " + dir_ + "/junk.png", &out), 2);
  EXPECT_EQ(Compare(dir_ + "/a.png " + dir_ + "/nothere.png", &out), 2);
  EXPECT_EQ(Compare(dir_ + "/a.png", &out), 2) << "usage";
}

TEST_F(CompareTest, GoldenDirectoriesAndUpdate) {
  const std::string g = dir_ + "/goldens", act = dir_ + "/actual";
  fs::create_directories(g);
  fs::create_directories(act);
  for (const char* n : {"one.png", "two.png"}) {
    fs::copy_file(dir_ + "/a.png", g + "/" + n, fs::copy_options::overwrite_existing);
    fs::copy_file(dir_ + "/a.png", act + "/" + n, fs::copy_options::overwrite_existing);
  }
  std::string out;
  EXPECT_EQ(Compare("--goldens " + g + " --actual " + act, &out), 0) << out;
  client::RgbaImage b = a_;
  b.px[0] ^= 0x80;
  ASSERT_TRUE(client::WritePngRgba(act + "/two.png", b).ok());
  EXPECT_EQ(Compare("--goldens " + g + " --actual " + act + " --diff-dir " + dir_ + "/diffs", &out), 1) << out;
  EXPECT_NE(out.find("two.png"), std::string::npos);
  EXPECT_NE(out.find("FAIL: 1 of 1200"), std::string::npos) << out;
  EXPECT_TRUE(fs::exists(dir_ + "/diffs/two.diff.png"));
  EXPECT_EQ(Compare("--goldens " + g + " --actual " + act + " --update", &out), 0) << out;
  EXPECT_NE(out.find("golden updated"), std::string::npos) << out;
  EXPECT_EQ(Compare("--goldens " + g + " --actual " + act, &out), 0) << out;
  fs::remove(act + "/one.png");
  EXPECT_EQ(Compare("--goldens " + g + " --actual " + act, &out), 1);
  EXPECT_NE(out.find("MISSING"), std::string::npos) << out;
}

}  // namespace
}  // namespace tilerender::testing
