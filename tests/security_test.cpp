// Production security and operations through the real daemon: bearer tokens with roles over every
// RPC and over HTTP, token files re-read on SIGHUP, no token in any log line; TLS refusing
// plaintext, mutual TLS refusing a client without a certificate; Prometheus /metrics that parses
// and moves with requests.
#include <gtest/gtest.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <httplib.h>
#include <tiffio.h>
#include <zlib.h>
#include <signal.h>
#include <stdlib.h>

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <tuple>
#include <chrono>

#include <atomic>
#include <fstream>
#include <functional>
#include <sstream>
#include <map>
#include <regex>
#include <thread>

#include "tests/daemon_fixture.h"
#include "tests/tiff_writer.h"

namespace tilerender::testing {
namespace {

std::string TempDir() {
  char tmpl[] = "/tmp/tilerender-sec-XXXXXX";
  const char* dir = mkdtemp(tmpl);
  EXPECT_NE(dir, nullptr);
  return dir ? dir : "/tmp";
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
}

const std::string kRender = "render-token-7f3a9c1e5b2d4a60";
const std::string kAdmin = "admin-token-1c9e4b7a2f6d8e30";
const std::string kNew = "new-token-5d2a8f1c9b3e7a41";
const std::string kWrong = "render-token-7f3a9c1e5b2d4a61";

std::unique_ptr<client::Client> As(const Daemon& d, const std::string& token) {
  client::ConnectOptions o;
  o.token = token;
  auto c = client::Client::Connect(d.address(), o);
  EXPECT_TRUE(c.ok());
  return std::move(c).value();
}

v1::RenderRequest SmallRender(const std::string& id) {
  v1::RenderRequest r;
  r.set_width(16);
  r.set_height(16);
  r.add_layers()->set_image_id(id);
  return r;
}

// Every RPC, as a function of a client and a fresh suffix: its status.
using Rpc = std::function<Status(client::Client&, int)>;

std::vector<std::pair<std::string, Rpc>> EveryRpc() {
  return {
      {"GetServerInfo", [](client::Client& c, int) { return c.Info().status(); }},
      {"ListImages", [](client::Client& c, int) { return c.List().status(); }},
      {"GetStats", [](client::Client& c, int) { return c.Stats().status(); }},
      {"Render", [](client::Client& c, int) { return c.Render(SmallRender("shared")).status(); }},
      {"RenderStream",
       [](client::Client& c, int) {
         Status item = Status::Ok();
         const Status s = c.RenderStream({SmallRender("shared")}, [&](size_t, Result<v1::RenderResponse> r) { item = r.status(); });
         return s.ok() ? item : s;
       }},
      {"LoadImage", [](client::Client& c, int n) { return c.Load("a.npy", "loaded" + std::to_string(n)).status(); }},
      {"UploadImage",
       [](client::Client& c, int n) {
         auto src = BufferSource::Allocate({4, 4, PixelType::kUint8, 1});
         std::fill_n((*src)->mutable_data(), 16, uint8_t{9});
         return c.Upload("uploaded" + std::to_string(n), **src).status();
       }},
      {"UnloadImage", [](client::Client& c, int n) { return c.Unload("victim" + std::to_string(n)).status(); }},
  };
}

TEST(SecurityTest, EachRoleMayDoExactlyItsRpcs) {
  const std::string dir = TempDir();
  const std::string tokens = dir + "/tokens";
  WriteFile(tokens, "# role per token\n" + kRender + " render\n\n" + kAdmin + "   admin  # the operator\n");
  Daemon d({"--auth-tokens", tokens, "--http-listen", "127.0.0.1:0"}, {.token = kAdmin});
  std::vector<uint8_t> px(64, 5);
  WriteNpy(d.data_root() + "/a.npy", "|u1", {8, 8}, px.data(), px.size());
  auto admin = As(d, kAdmin);
  ASSERT_TRUE(admin->Load("a.npy", "shared").ok());
  const auto rpcs = EveryRpc();
  for (size_t i = 0; i < 64; ++i) ASSERT_TRUE(admin->Load("a.npy", "victim" + std::to_string(i)).ok());

  struct Who {
    std::string name, token;
    bool read, write;
  };
  const std::string huge(1 << 20, 'x');
  const Who everyone[] = {{"no token", "", false, false},        {"wrong token", kWrong, false, false},
                          {"render", kRender, true, false},       {"admin", kAdmin, true, true},
                          {"1 MB token", huge, false, false},      {"token with a space", kRender + " x", false, false},
                          {"blank token", " ", false, false}};
  int n = 0;
  for (const Who& who : everyone) {
    auto c = As(d, who.token);
    for (const auto& [name, rpc] : rpcs) {
      const bool writes = name == "LoadImage" || name == "UploadImage" || name == "UnloadImage";
      const Status s = rpc(*c, n++);
      const bool allowed = writes ? who.write : who.read;
      if (allowed) {
        EXPECT_TRUE(s.ok()) << who.name << " " << name << ": " << s.ToString();
      } else if (who.name == "1 MB token") {
        EXPECT_FALSE(s.ok()) << who.name << " " << name;  // gRPC's metadata limit may refuse it first
      } else {
        const StatusCode want = who.read ? StatusCode::kPermissionDenied : StatusCode::kUnauthenticated;
        EXPECT_EQ(s.code(), want) << who.name << " " << name << ": " << s.ToString();
        EXPECT_EQ(s.message().find("token-"), std::string::npos) << "nothing that helps a guesser";
      }
    }
  }
  // Refused writes changed nothing: the victims of refused unloads are all still there (one per
  // refused try; the admin's unload took its own).
  auto list = admin->List();
  ASSERT_TRUE(list.ok());
  int victims = 0;
  for (const auto& i : *list) victims += i.image_id().rfind("victim", 0) == 0;
  EXPECT_EQ(victims, 64 - 1);
  // Health stays open.
  EXPECT_TRUE(As(d, "")->Health().ok());

  // HTTP: the same tokens in the Authorization header; the viewer's files and /healthz stay open.
  const std::string& a = d.http_address();
  httplib::Client h(a.substr(0, a.rfind(':')), std::stoi(a.substr(a.rfind(':') + 1)));
  EXPECT_EQ(h.Get("/healthz")->status, 200);
  EXPECT_EQ(h.Get("/metrics")->status, 200);
  for (const char* path : {"/api/images", "/iiif/3/shared/info.json", "/iiif/3/shared/full/8,/0/default.png"}) {
    auto none = h.Get(path);
    EXPECT_EQ(none->status, 401) << path;
    EXPECT_EQ(none->get_header_value("WWW-Authenticate"), "Bearer");
    EXPECT_EQ(h.Get(path, {{"Authorization", "Bearer " + kWrong}})->status, 401) << path;
    EXPECT_EQ(h.Get(path, {{"Authorization", "Basic " + kRender}})->status, 401) << path;
    EXPECT_EQ(h.Get(path, {{"Authorization", "Bearer "}})->status, 401) << path;
    EXPECT_EQ(h.Get(path, {{"Authorization", "Bearer " + std::string(1 << 20, 'x')}})->status / 100, 4) << path;
    EXPECT_EQ(h.Get(path, {{"Authorization", "Bearer " + kRender}})->status, 200) << path;
    EXPECT_EQ(h.Get(path, {{"Authorization", "bearer " + kAdmin}})->status, 200) << path;
  }

  // SIGHUP: a new token works, a revoked one no longer does, without a restart.
  WriteFile(tokens, kAdmin + " admin\n" + kNew + " render\n");
  ASSERT_EQ(kill(d.pid(), SIGHUP), 0);
  bool reloaded = false;
  for (int i = 0; i < 100 && !reloaded; ++i) {
    reloaded = As(d, kNew)->List().ok();
    if (!reloaded) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(reloaded);
  EXPECT_EQ(As(d, kRender)->List().status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(As(d, kNew)->Unload("shared").status().code(), StatusCode::kPermissionDenied);
  // A file that does not parse leaves the tokens as they were.
  WriteFile(tokens, kNew + " superuser\n");
  ASSERT_EQ(kill(d.pid(), SIGHUP), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(As(d, kNew)->List().ok());
  EXPECT_NE(d.Log().find("the tokens stay as they were"), std::string::npos);

  // No token in any log line.
  const std::string log = d.Log();
  for (const std::string& t : {kRender, kAdmin, kNew, kWrong, std::string("xxxxxxxxxxxxxxxx")}) {
    EXPECT_EQ(log.find(t), std::string::npos) << "a token in the log";
  }
  EXPECT_NE(log.find("UNAUTHENTICATED"), std::string::npos) << "refusals are logged";
  std::system(("rm -rf '" + dir + "'").c_str());
}

// A CA, a server certificate for 127.0.0.1 and a client certificate, made with the openssl CLI.
struct Pki {
  std::string dir;
  Pki() : dir(TempDir()) {
    const std::string cmd =
        "cd '" + dir + "' && "
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=test-ca 2>/dev/null && "
        "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=localhost 2>/dev/null && "
        "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > san.ext && "
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 "
        "-extfile san.ext 2>/dev/null && "
        "openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=client 2>/dev/null && "
        "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2 2>/dev/null";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << "openssl";
  }
  ~Pki() { std::system(("rm -rf '" + dir + "'").c_str()); }
  std::string operator()(const std::string& name) const { return dir + "/" + name; }
};

TEST(SecurityTest, TlsRefusesPlaintextAndMutualTlsRefusesClientsWithoutCertificates) {
  Pki pki;
  {
    Daemon d({"--tls-cert", pki("server.pem"), "--tls-key", pki("server.key"), "--http-listen", "127.0.0.1:0"},
             {.tls_ca = pki("ca.pem")});
    EXPECT_TRUE(d.client().Info().ok()) << "a TLS client that trusts the CA";
    auto plain = client::Client::Connect(d.address());
    EXPECT_EQ(plain->Info().status().code(), StatusCode::kUnavailable) << "plaintext is refused";
    auto untrusting = client::Client::Connect(d.address(), client::ConnectOptions{.tls = true});
    EXPECT_FALSE((*untrusting)->Info().ok()) << "a client that does not trust the CA";
    // HTTPS on the HTTP port.
    const std::string& a = d.http_address();
    const std::string host = a.substr(0, a.rfind(':'));
    const int port = std::stoi(a.substr(a.rfind(':') + 1));
    httplib::SSLClient s(host, port);
    s.set_ca_cert_path(pki("ca.pem").c_str());
    auto ok = s.Get("/healthz");
    ASSERT_TRUE(ok) << httplib::to_string(ok.error());
    EXPECT_EQ(ok->status, 200);
    httplib::Client h(host, port);
    EXPECT_FALSE(h.Get("/healthz")) << "plain HTTP is refused";
  }
  {
    Daemon d({"--tls-cert", pki("server.pem"), "--tls-key", pki("server.key"), "--tls-client-ca", pki("ca.pem")},
             {.tls_ca = pki("ca.pem"), .tls_cert = pki("client.pem"), .tls_key = pki("client.key")});
    EXPECT_TRUE(d.client().Info().ok()) << "a client with a certificate the CA signed";
    auto anonymous = client::Client::Connect(d.address(), client::ConnectOptions{.tls_ca = pki("ca.pem")});
    EXPECT_EQ((*anonymous)->Info().status().code(), StatusCode::kUnavailable) << "no client certificate";
    // The CLI's flags.
    std::string out;
    const std::string cli = std::string(TILERENDER_CLI_PATH) + " --server " + d.address() + " --tls-ca " + pki("ca.pem");
    EXPECT_NE(RunCommand(cli + " info 2>/dev/null", &out), 0);
    EXPECT_EQ(RunCommand(cli + " --tls-cert " + pki("client.pem") + " --tls-key " + pki("client.key") + " info", &out), 0);
    EXPECT_FALSE(out.empty());
  }
}

// One line of Prometheus text: name, labels, value.
struct PromSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Parses the text exposition format strictly enough to fail on anything malformed: HELP/TYPE
// comments, samples whose family was declared, label syntax, numeric values.
std::vector<PromSample> ParseProm(const std::string& text, std::string* error) {
  static const std::regex comment(R"(# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*))");
  static const std::regex sample(R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? ([-+0-9.eEInfa]+))");
  static const std::regex label(R"(([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)\"(,|$))");
  std::map<std::string, std::string> types;
  std::vector<PromSample> out;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    std::smatch m;
    if (line.empty()) continue;
    if (line[0] == '#') {
      if (!std::regex_match(line, m, comment)) return *error = "line " + std::to_string(n) + ": bad comment", out;
      if (m[1] == "TYPE") {
        const std::string t = m[3];
        if (t != "counter" && t != "gauge" && t != "histogram" && t != "summary" && t != "untyped") {
          return *error = "line " + std::to_string(n) + ": bad type", out;
        }
        if (types.count(m[2])) return *error = "line " + std::to_string(n) + ": type declared twice", out;
        types[m[2]] = t;
      }
      continue;
    }
    if (!std::regex_match(line, m, sample)) return *error = "line " + std::to_string(n) + ": bad sample: " + line, out;
    PromSample s;
    s.name = m[1];
    std::string family = s.name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      const std::string f(suffix);
      if (!types.count(family) && family.size() > f.size() && family.compare(family.size() - f.size(), f.size(), f) == 0) {
        family = family.substr(0, family.size() - f.size());
      }
    }
    if (!types.count(family)) return *error = "line " + std::to_string(n) + ": no TYPE for " + s.name, out;
    std::string labels = m[3];
    while (!labels.empty()) {
      std::smatch lm;
      if (!std::regex_search(labels, lm, label) || lm.position(0) != 0) return *error = "line " + std::to_string(n) + ": bad labels", out;
      s.labels[lm[1]] = lm[2];
      labels = lm.suffix();
    }
    try {
      s.value = std::stod(m[4]);
    } catch (...) {
      return *error = "line " + std::to_string(n) + ": bad value", out;
    }
    out.push_back(s);
  }
  return out;
}

double Find(const std::vector<PromSample>& samples, const std::string& name, const std::map<std::string, std::string>& labels) {
  for (const PromSample& s : samples) {
    bool match = s.name == name;
    for (const auto& [k, v] : labels) match = match && s.labels.count(k) && s.labels.at(k) == v;
    if (match) return s.value;
  }
  return -1;
}

TEST(MetricsTest, ExpositionParsesAndCountersMoveWithRequests) {
  Daemon d({"--http-listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"});
  ASSERT_FALSE(d.metrics_address().empty());
  auto src = BufferSource::Allocate({64, 64, PixelType::kUint16, 1});
  std::fill_n((*src)->mutable_data(), 64 * 64 * 2, uint8_t{3});
  ASSERT_TRUE(d.client().Upload("m", **src).ok());
  auto scrape = [](const std::string& address) {
    httplib::Client h(address.substr(0, address.rfind(':')), std::stoi(address.substr(address.rfind(':') + 1)));
    auto r = h.Get("/metrics");
    EXPECT_TRUE(r && r->status == 200);
    EXPECT_EQ(r->get_header_value("Content-Type").rfind("text/plain; version=0.0.4", 0), 0u);
    std::string error;
    auto samples = ParseProm(r ? r->body : "", &error);
    EXPECT_TRUE(error.empty()) << error;
    return samples;
  };
  const auto before = scrape(d.metrics_address());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(d.client().Render(SmallRender("m")).ok());
  EXPECT_FALSE(d.client().Render(SmallRender("nosuch")).ok());
  const std::string& a = d.http_address();
  httplib::Client h(a.substr(0, a.rfind(':')), std::stoi(a.substr(a.rfind(':') + 1)));
  EXPECT_EQ(h.Get("/iiif/3/m/full/32,/0/default.png")->status, 200);
  EXPECT_EQ(h.Get("/iiif/3/nosuch/info.json")->status, 404);
  for (const std::string& where : {d.metrics_address(), d.http_address()}) {
    const auto after = scrape(where);
    auto delta = [&](const std::string& name, const std::map<std::string, std::string>& labels) {
      const double b = Find(before, name, labels);
      return Find(after, name, labels) - (b < 0 ? 0 : b);
    };
    EXPECT_EQ(delta("tilerender_requests_total", {{"transport", "grpc"}, {"method", "Render"}, {"code", "OK"}}), 3) << where;
    EXPECT_EQ(delta("tilerender_requests_total", {{"transport", "grpc"}, {"method", "Render"}, {"code", "NOT_FOUND"}}), 1);
    EXPECT_EQ(delta("tilerender_requests_total", {{"transport", "http"}, {"method", "iiif_image"}, {"code", "200"}}), 1);
    EXPECT_EQ(delta("tilerender_requests_total", {{"transport", "http"}, {"method", "iiif_info"}, {"code", "404"}}), 1);
    EXPECT_EQ(delta("tilerender_renders_total", {}), 4) << "3 over gRPC, 1 over HTTP";
    EXPECT_EQ(delta("tilerender_render_stage_seconds_count", {{"stage", "total"}}), 4);
    EXPECT_EQ(delta("tilerender_render_stage_seconds_bucket", {{"stage", "draw"}, {"le", "+Inf"}}), 4);
    EXPECT_EQ(Find(after, "tilerender_images", {}), 1);
    EXPECT_GT(Find(after, "tilerender_gpu_cache_bytes", {}), 0);
    EXPECT_GT(Find(after, "tilerender_gpu_cache_misses_total", {}), 0);
    // Buckets are cumulative.
    double last = 0;
    for (const PromSample& s : after) {
      if (s.name != "tilerender_render_stage_seconds_bucket" || s.labels.at("stage") != "total") continue;
      EXPECT_GE(s.value, last);
      last = s.value;
    }
  }
  // promtool (Debian's prometheus package; scripts/install-deps.sh installs it) lints it too.
  std::string out;
  if (RunCommand("command -v promtool >/dev/null", &out) == 0) {
    const std::string& m = d.metrics_address();
    httplib::Client c(m.substr(0, m.rfind(':')), std::stoi(m.substr(m.rfind(':') + 1)));
    const std::string dir = TempDir();
    WriteFile(dir + "/metrics.txt", c.Get("/metrics")->body);
    EXPECT_EQ(RunCommand("promtool check metrics < " + dir + "/metrics.txt 2>&1", &out), 0) << out;
    EXPECT_TRUE(out.empty()) << "promtool's lint: " << out;
    std::system(("rm -rf '" + dir + "'").c_str());
  } else {
    std::fprintf(stderr, "promtool not installed: checked by our parser only\n");
  }
}

// Stateless replicas: with --autoload a render naming path:REL/PATH loads that file on first use
// (once, however many renders ask at once), and past --autoload-max the least recently used goes.
TEST(AutoloadTest, PathIdsLoadOnFirstRenderAndTheLeastRecentlyUsedGo) {
  Daemon d({"--autoload", "--autoload-max", "2", "--http-listen", "127.0.0.1:0"});
  mkdir((d.data_root() + "/scans").c_str(), 0755);
  std::vector<uint8_t> px(32 * 24);
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>(i * 7);
  for (const char* name : {"scans/a.npy", "scans/b.npy", "scans/c.npy", "top.npy"}) {
    WriteNpy(d.data_root() + "/" + name, "|u1", {24, 32}, px.data(), px.size());
  }
  auto ids = [&] {
    std::vector<std::string> out;
    const auto list = d.client().List();
    for (const auto& i : *list) out.push_back(i.image_id());
    return out;
  };
  auto render = [&](const std::string& id) { return d.client().Render(SmallRender(id)).status(); };
  auto h_status = [&](const std::string& path) {
    const std::string& a = d.http_address();
    httplib::Client h(a.substr(0, a.rfind(':')), std::stoi(a.substr(a.rfind(':') + 1)));
    auto r = h.Get(path);
    return r ? r->status : -1;
  };
  EXPECT_TRUE(render("path:scans/a.npy").ok());
  EXPECT_EQ(ids(), std::vector<std::string>{"path:scans/a.npy"});
  // Eight renders of one unloaded path at once: one load, every render served.
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto c = client::Client::Connect(d.address());
      ok += c->Render(SmallRender("path:scans/b.npy")).ok();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(ids(), (std::vector<std::string>{"path:scans/a.npy", "path:scans/b.npy"}));
  EXPECT_TRUE(render("path:scans/b.npy").ok());  // b is now more recent than a
  EXPECT_TRUE(render("path:scans/c.npy").ok());  // a third: a, the least recently used, goes
  EXPECT_EQ(ids(), (std::vector<std::string>{"path:scans/b.npy", "path:scans/c.npy"}));
  EXPECT_TRUE(render("path:scans/a.npy").ok()) << "loaded again";
  // The same pixels as a named load of the file.
  ASSERT_TRUE(d.client().Load("scans/a.npy", "named").ok());
  EXPECT_EQ(d.client().Render(SmallRender("path:scans/a.npy"))->data(), d.client().Render(SmallRender("named"))->data());
  // Paths stay confined; missing files are NOT_FOUND; plain ids are never autoloaded.
  EXPECT_EQ(render("path:../outside.npy").code(), StatusCode::kInvalidArgument);  // not a valid id
  EXPECT_EQ(render("path:/etc/passwd").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(h_status("/iiif/3/path:..top.npy/full/16,/0/default.png"), 400);
  EXPECT_EQ(render("path:scans/missing.npy").code(), StatusCode::kNotFound);
  EXPECT_EQ(render("top.npy").code(), StatusCode::kNotFound);
  // Over HTTP too (IIIF ids hold no '/').
  const std::string& a = d.http_address();
  httplib::Client h(a.substr(0, a.rfind(':')), std::stoi(a.substr(a.rfind(':') + 1)));
  EXPECT_EQ(h.Get("/iiif/3/path:top.npy/full/16,/0/default.png")->status, 200);
  // Without --autoload a path id is just an unknown image.
  Daemon plain;
  WriteNpy(plain.data_root() + "/top.npy", "|u1", {24, 32}, px.data(), px.size());
  EXPECT_EQ(plain.client().Render(SmallRender("path:top.npy")).status().code(), StatusCode::kNotFound);
}

// Hostile requests (issue #14's findings 2, 5, 6): a FIFO in the data root is refused at once
// instead of blocking the load (and the shutdown) forever; an 8000-character id gets
// INVALID_ARGUMENT with a short message (it was echoed whole, past gRPC's metadata limit, so the
// client saw RESOURCE_EXHAUSTED); an id with a newline cannot forge a log line; a 500-layer request
// logs one short line.
TEST(HardeningTest, FifosLongIdsAndLogInjection) {
  Daemon d;
  ASSERT_EQ(mkfifo((d.data_root() + "/p.png").c_str(), 0644), 0);
  const auto t0 = std::chrono::steady_clock::now();
  auto fifo = d.client().Load("p.png", "p");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  EXPECT_EQ(fifo.status().code(), StatusCode::kInvalidArgument) << fifo.status().ToString();
  EXPECT_NE(fifo.status().message().find("p.png is a FIFO, not a regular file"), std::string::npos) << fifo.status().message();
  EXPECT_EQ(d.client().Load("p.png", "p").status().code(), StatusCode::kInvalidArgument) << "the id was released";

  const std::string long_id(8000, 'a');
  auto render = d.client().Render(SmallRender(long_id));
  EXPECT_EQ(render.status().code(), StatusCode::kInvalidArgument) << render.status().ToString().substr(0, 200);
  EXPECT_LT(render.status().message().size(), 300u);
  auto unload = d.client().Unload(long_id);
  EXPECT_EQ(unload.status().code(), StatusCode::kInvalidArgument);
  EXPECT_LT(unload.status().message().size(), 300u);

  const std::string forged = "x\n2026-01-01T00:00:00.000 info Render image=forged OK";
  EXPECT_EQ(d.client().Render(SmallRender(forged)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(d.client().Unload(forged).status().code(), StatusCode::kInvalidArgument);
  v1::RenderRequest many;
  many.set_width(8);
  many.set_height(8);
  for (int i = 0; i < 500; ++i) many.add_layers()->set_image_id("layer-" + std::to_string(i) + std::string(100, 'z'));
  EXPECT_FALSE(d.client().Render(many).ok());
  const std::string log = d.Log();
  std::istringstream lines(log);
  std::string line;
  size_t longest = 0;
  while (std::getline(lines, line)) {
    EXPECT_NE(line.rfind("2026-01-01T00:00:00.000", 0), 0u) << "a forged log line: " << line;
    longest = std::max(longest, line.size());
  }
  EXPECT_LT(longest, 1200u) << "one log line per request, short";
  EXPECT_EQ(d.Stop(), 0) << "SIGTERM still ends the daemon";
}

// Finding 7: every failed render counts in Stats.render_errors, also those refused while reading
// the request (unknown image, bad enum, bad size or contrast), over gRPC, RenderStream and HTTP.
TEST(HardeningTest, EveryFailedRenderCounts) {
  Daemon d({"--http-listen", "127.0.0.1:0"});
  auto src = BufferSource::Allocate({16, 16, PixelType::kUint8, 1});
  std::fill_n((*src)->mutable_data(), 256, uint8_t{1});
  ASSERT_TRUE(d.client().Upload("ok", **src).ok());
  const auto before = *d.client().Stats();
  std::vector<v1::RenderRequest> bad;
  bad.push_back(SmallRender("nosuch"));
  bad.push_back(SmallRender("ok"));
  bad.back().mutable_layers(0)->set_interpolation(static_cast<v1::Interpolation>(99));
  bad.push_back(SmallRender("ok"));
  bad.back().set_width(0);
  bad.push_back(SmallRender("ok"));
  bad.back().mutable_layers(0)->mutable_contrast()->set_lo(3);
  bad.back().mutable_layers(0)->mutable_contrast()->set_hi(3);
  bad.push_back(SmallRender("bad id!"));
  for (const auto& r : bad) EXPECT_FALSE(d.client().Render(r).ok());
  int stream_failures = 0;
  ASSERT_TRUE(d.client().RenderStream(bad, [&](size_t, Result<v1::RenderResponse> r) { stream_failures += !r.ok(); }).ok());
  EXPECT_EQ(stream_failures, 5);
  const std::string& a = d.http_address();
  httplib::Client h(a.substr(0, a.rfind(':')), std::stoi(a.substr(a.rfind(':') + 1)));
  int http_failures = 0;
  for (const char* url : {"/iiif/3/nosuch/full/8,/0/default.png", "/iiif/3/ok/full/0,/0/default.png",
                          "/iiif/3/ok/99,99,5,5/8,/0/default.png", "/iiif/3/ok/full/8,/0/default.png?q=abc",
                          "/iiif/3/ok/full/8,/0/default.png?colormap=nosuch", "/iiif/3/ok/full/8,/0/sepia.png"}) {
    auto r = h.Get(url);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status / 100, 4) << url;
    ++http_failures;
  }
  EXPECT_EQ(h.Post("/api/render", "{not json", "application/json")->status, 400);
  EXPECT_EQ(h.Post("/api/render", R"({"width": 8, "height": 8, "layers": [{"image_id": "nosuch"}]})", "application/json")->status, 404);
  http_failures += 2;
  const auto after = *d.client().Stats();
  EXPECT_EQ(after.render_errors() - before.render_errors(), 5 + 5 + http_failures);
  EXPECT_EQ(after.renders_served(), before.renders_served());
}

// Finding 9: one 16384 x 4096 PNG render no longer leaves its buffers in the daemon (RSS stayed
// 300-550 MB higher: the kept framebuffer and glibc's adaptive mmap threshold).
TEST(HardeningTest, LargeRenderBuffersAreReturned) {
  Daemon d;
  auto src = BufferSource::Allocate({512, 512, PixelType::kUint16, 1});
  for (int i = 0; i < 512 * 512; ++i) reinterpret_cast<uint16_t*>((*src)->mutable_data())[i] = static_cast<uint16_t>(i * 37);
  ASSERT_TRUE(d.client().Upload("img", **src).ok());
  v1::RenderRequest small = SmallRender("img");
  small.set_width(512);
  small.set_height(512);
  ASSERT_TRUE(d.client().Render(small).ok());
  const int64_t before = d.RssKib();
  v1::RenderRequest big = small;
  big.set_width(16384);
  big.set_height(4096);
  big.mutable_layers(0)->mutable_colormap()->set_name("viridis");
  auto out = d.client().Render(big);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_TRUE(d.client().Render(small).ok());
  const int64_t after = d.RssKib();
  EXPECT_LT(after - before, 120 * 1024) << "RSS " << before / 1024 << " MiB before, " << after / 1024 << " MiB after";
}

// Finding 1: an NPY file truncated after (or while) it is loaded killed the daemon with SIGBUS (it
// was memory-mapped; reading the map past the new end faults). Now it is read with pread: the
// render that needs the lost bytes gets DATA_LOSS, the daemon serves on, and loads racing a
// truncation end in a clean status.
TEST(HardeningTest, NpyTruncatedUnderTheDaemonIsDataLossNotSigbus) {
  Daemon d;
  const int64_t side = 3000;
  std::vector<uint16_t> px(static_cast<size_t>(side * side));
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint16_t>(i * 7);
  const std::string path = d.data_root() + "/t.npy";
  WriteNpy(path, "<u2", {side, side}, px.data(), px.size() * 2);
  ASSERT_TRUE(d.client().Load("t.npy", "t").ok());
  ASSERT_EQ(truncate(path.c_str(), 4096), 0);
  v1::RenderRequest r = SmallRender("t");
  r.set_width(256);
  r.set_height(256);
  r.mutable_layers(0)->set_interpolation(v1::NEAREST);
  r.mutable_camera()->set_center_x(side - 100);
  r.mutable_camera()->set_center_y(side - 100);
  r.mutable_camera()->set_zoom(1);
  auto out = d.client().Render(r);
  EXPECT_EQ(out.status().code(), StatusCode::kDataLoss) << out.status().ToString();
  EXPECT_NE(out.status().message().find("t.npy shrank while open: 4096 bytes now"), std::string::npos) << out.status().message();
  EXPECT_TRUE(d.client().Info().ok()) << "the daemon serves on";

  // The issue's reproducer: truncated 50 ms into the load, three times.
  for (int trial = 0; trial < 3; ++trial) {
    WriteNpy(path, "<u2", {side, side}, px.data(), px.size() * 2);
    const std::string id = "race" + std::to_string(trial);
    Status load = Status::Ok();
    std::thread loader([&] { load = d.client().Load("t.npy", id).status(); });
    std::this_thread::sleep_for(std::chrono::milliseconds(20 * trial));
    ASSERT_EQ(truncate(path.c_str(), 4096), 0);
    loader.join();
    EXPECT_TRUE(load.ok() || load.code() == StatusCode::kDataLoss || load.code() == StatusCode::kInvalidArgument) << load.ToString();
    r.mutable_layers(0)->set_image_id(id);
    const Status s = d.client().Render(r).status();
    if (load.ok()) {
      EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s.ToString();
    }
    ASSERT_TRUE(d.client().Info().ok()) << "trial " << trial << ": the daemon died";
  }
  EXPECT_EQ(d.Stop(), 0);
}

void Put32(std::string* s, uint32_t v) {
  for (int i = 3; i >= 0; --i) s->push_back(static_cast<char>(v >> (8 * i)));
}

// A PNG chunk with its CRC.
void PngChunk(std::string* png, const char* type, const std::string& data) {
  Put32(png, static_cast<uint32_t>(data.size()));
  const std::string body = type + data;
  png->append(body);
  Put32(png, static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()))));
}

// A PNG whose header claims w x h and whose one IDAT holds a few rows' worth of zlib data.
std::string HostilePng(uint32_t w, uint32_t h, int depth, int color, int interlace) {
  std::string png("\x89PNG\r\n\x1a\n", 8), ihdr;
  Put32(&ihdr, w);
  Put32(&ihdr, h);
  ihdr += {static_cast<char>(depth), static_cast<char>(color), 0, 0, static_cast<char>(interlace)};
  PngChunk(&png, "IHDR", ihdr);
  std::string raw(64, '\0');
  std::vector<Bytef> z(128);
  uLongf n = z.size();
  compress(z.data(), &n, reinterpret_cast<const Bytef*>(raw.data()), raw.size());
  PngChunk(&png, "IDAT", std::string(reinterpret_cast<char*>(z.data()), n));
  PngChunk(&png, "IEND", "");
  return png;
}

// A classic little-endian TIFF by hand: 8-bit gray, uncompressed, one strip whose byte count
// claims the whole image while the file ends right after the directory.
std::string TiffWithMissingStrip(uint32_t w, uint32_t h) {
  auto le16 = [](std::string* s, uint16_t v) { s->push_back(static_cast<char>(v & 255)), s->push_back(static_cast<char>(v >> 8)); };
  auto le32 = [](std::string* s, uint32_t v) { for (int i = 0; i < 4; ++i) s->push_back(static_cast<char>(v >> (8 * i))); };
  std::string t("II*\0", 4);
  le32(&t, 8);
  const std::vector<std::array<uint32_t, 3>> tags = {{256, 4, w}, {257, 4, h}, {258, 3, 8}, {259, 3, 1}, {262, 3, 1},
                                                     {273, 4, 8 + 2 + 9 * 12 + 4}, {277, 3, 1}, {278, 4, h},
                                                     {279, 4, w * h}};
  le16(&t, static_cast<uint16_t>(tags.size()));
  for (const auto& [tag, type, value] : tags) {
    le16(&t, static_cast<uint16_t>(tag));
    le16(&t, static_cast<uint16_t>(type));
    le32(&t, 1);
    if (type == 3) {
      le16(&t, static_cast<uint16_t>(value));
      le16(&t, 0);
    } else {
      le32(&t, value);
    }
  }
  le32(&t, 0);
  t.append(64, '\0');  // a few bytes of "pixels"
  return t;
}

// A TIFF written by libtiff that claims side x side but holds only its first strip or tile.
void TiffWithOnlyTheFirstChunk(const std::string& path, uint32_t side, int bits, bool tiled, uint16_t compression) {
  TIFF* t = TIFFOpen(path.c_str(), "w");
  ASSERT_NE(t, nullptr);
  SetGrayPage(t, side, side, bits, compression);
  std::vector<uint8_t> chunk;
  if (tiled) {
    TIFFSetField(t, TIFFTAG_TILEWIDTH, 256);
    TIFFSetField(t, TIFFTAG_TILELENGTH, 256);
    chunk.assign(TIFFTileSize(t), 7);
    ASSERT_GE(TIFFWriteEncodedTile(t, 0, chunk.data(), chunk.size()), 0);
  } else {
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 64);
    chunk.assign(TIFFStripSize(t), 7);
    ASSERT_GE(TIFFWriteEncodedStrip(t, 0, chunk.data(), chunk.size()), 0);
  }
  ASSERT_TRUE(TIFFWriteDirectory(t));
  TIFFClose(t);
}

// Findings 3 and 4: files whose headers claim far more pixels than the file holds are refused
// from the header, before anything the size of the image (or libpng's rows) is allocated: under
// 2 s and 100 MB each. A 138-byte PNG claiming 2^31-1 x 1 cost 6.3 s and 2 GB; interlaced 16-bit
// ones 14 GB (two at once got the daemon OOM-killed); a 24 KB TIFF claiming 65535 x 65535 took
// 16 s and 5.6 GB before failing to decode.
TEST(HardeningTest, FilesThatCannotHoldTheirPixelsCostNothing) {
  Daemon d;
  struct Hostile {
    std::string file, expect;
  };
  std::vector<Hostile> files;
  auto put = [&](const std::string& name, const std::string& bytes, const std::string& expect) {
    WriteFile(d.data_root() + "/" + name, bytes);
    files.push_back({name, expect});
  };
  put("wide.png", HostilePng(0x7fffffff, 1, 8, 0, 0), "exceeds the per-side limit");
  put("big16.png", HostilePng(65535, 65535, 16, 6, 1), "cannot hold");
  put("big8.png", HostilePng(60000, 60000, 8, 2, 0), "cannot hold");
  put("missing.tif", TiffWithMissingStrip(8000, 8000), "strip 0 of level 0 is not in the file");
  for (const auto& [name, bits, tiled, compression] :
       std::vector<std::tuple<std::string, int, bool, uint16_t>>{{"strips8.tif", 8, false, COMPRESSION_ADOBE_DEFLATE},
                                                                 {"strips16.tif", 16, false, COMPRESSION_ADOBE_DEFLATE},
                                                                 {"raw8.tif", 8, false, COMPRESSION_NONE},
                                                                 {"tiles16.tif", 16, true, COMPRESSION_LZW}}) {
    TiffWithOnlyTheFirstChunk(d.data_root() + "/" + name, 65535, bits, tiled, compression);
    files.push_back({name, compression == COMPRESSION_NONE ? "strip 1 of level 0 is not in the file" : "of level 0 is not in the file"});
  }
  const int64_t peak0 = d.PeakRssKib();
  for (const Hostile& f : files) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = d.client().Load(f.file, "h-" + f.file);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << f.file << ": " << r.status().ToString();
    EXPECT_NE(r.status().message().find(f.expect), std::string::npos) << f.file << ": " << r.status().message();
    EXPECT_LT(s, 2.0) << f.file;
    EXPECT_LT(d.PeakRssKib() - peak0, 100 * 1024) << f.file << ": peak RSS grew";
  }
  // Two at once, as in the reproducer that got the daemon OOM-killed.
  std::thread a([&] { EXPECT_FALSE(d.client().Load("big16.png", "a").ok()); });
  std::thread b([&] { EXPECT_FALSE(d.client().Load("big16.png", "b").ok()); });
  a.join();
  b.join();
  EXPECT_LT(d.PeakRssKib() - peak0, 100 * 1024);
  EXPECT_EQ(d.Stop(), 0);
}

// Finding 8: a cap on layers per render (500 layers of 1024x768 held the render thread 7.7 s),
// reported in the limits; messages name files relative to the data root, say what a directory
// is, and print huge numbers in a few digits.
TEST(HardeningTest, LayerCapPathsAndNumbersInMessages) {
  Daemon d({"--max-layers", "8"});
  auto info = d.client().Info();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->limits().max_layers(), 8);
  auto src = BufferSource::Allocate({16, 16, PixelType::kUint8, 1});
  std::fill_n((*src)->mutable_data(), 256, uint8_t{1});
  ASSERT_TRUE(d.client().Upload("img", **src).ok());
  v1::RenderRequest r = SmallRender("img");
  for (int i = 1; i < 8; ++i) *r.add_layers() = r.layers(0);
  EXPECT_TRUE(d.client().Render(r).ok()) << "8 layers: at the cap";
  *r.add_layers() = r.layers(0);
  auto nine = d.client().Render(r);
  EXPECT_EQ(nine.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(nine.status().message(), "a render has at most 8 layers, got 9");
  Daemon defaults;
  EXPECT_EQ(defaults.client().Info()->limits().max_layers(), 128);

  v1::RenderRequest huge = SmallRender("img");
  huge.mutable_layers(0)->mutable_contrast()->set_lo(1e308);
  huge.mutable_layers(0)->mutable_contrast()->set_hi(1e308);
  auto same = d.client().Render(huge);
  EXPECT_EQ(same.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(same.status().message(), "layer 0: contrast limits 1e+308, 1e+308 are beyond float range (|lo|, |hi| and hi - lo at most 3.4e38)");
  huge.mutable_layers(0)->mutable_contrast()->set_lo(-3e38);
  huge.mutable_layers(0)->mutable_contrast()->set_hi(3e38);
  EXPECT_EQ(d.client().Render(huge).status().code(), StatusCode::kInvalidArgument) << "hi - lo overflows float";
  huge.mutable_layers(0)->mutable_contrast()->set_lo(1e30);
  huge.mutable_layers(0)->mutable_contrast()->set_hi(1e30);
  EXPECT_EQ(d.client().Render(huge).status().message(), "layer 0: contrast limits must differ (lo == hi == 1e+30)");
  v1::RenderRequest zoom = SmallRender("img");
  zoom.mutable_camera()->set_zoom(-1e308);
  EXPECT_EQ(d.client().Render(zoom).status().message(), "zoom must be > 0, got -1e+308");

  ASSERT_EQ(mkdir((d.data_root() + "/sub").c_str(), 0755), 0);
  auto dir = d.client().Load("sub", "sub");
  EXPECT_EQ(dir.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(dir.status().message(), "sub is a directory, not an OME-Zarr image");
  for (const std::string path : {"nosuch.png", "sub/nosuch.tif", "sub", "nosuch/x.npy"}) {
    const Status s = d.client().Load(path, "x").status();
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(s.message().find(d.data_root()), std::string::npos) << "an absolute path: " << s.message();
    EXPECT_NE(s.message().find(path), std::string::npos) << s.message();
  }
}

// Loads honour the caller's deadline and the daemon's shutdown: a long load (a 12000 x 12000
// big-endian NPY converted into host memory, ~1 s here) stops at its next check, registers
// nothing and frees its id; SIGTERM during a load ends the daemon at once instead of after it.
TEST(HardeningTest, LoadsStopAtTheDeadlineAndAtShutdown) {
  Daemon d;
  const int64_t side = 12000;
  std::vector<uint16_t> px(static_cast<size_t>(side * side), 0x1234);
  WriteNpy(d.data_root() + "/slow.npy", ">u2", {side, side}, px.data(), px.size() * 2);
  px = {};
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(d.client().Load("slow.npy", "whole").ok());
  const auto whole = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(d.client().Unload("whole").ok());

  v1::LoadImageRequest req;
  req.set_path("slow.npy");
  req.set_image_id("slow");
  auto late = d.client().Load(req, std::chrono::milliseconds(50));
  EXPECT_EQ(late.status().code(), StatusCode::kDeadlineExceeded) << late.status().ToString();
  // The daemon logs the load when it stops: CANCELLED, well before a whole load's time.
  std::string log;
  for (int i = 0; i < 500 && log.find("LoadImage image=slow") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    log = d.Log();
  }
  const size_t at = log.find("LoadImage image=slow");
  ASSERT_NE(at, std::string::npos);
  const std::string line = log.substr(at, log.find('\n', at) - at);
  EXPECT_NE(line.find("CANCELLED"), std::string::npos) << line;
  const double ms = std::stod(line.substr(line.find("CANCELLED ") + 10));
  const double whole_ms = std::chrono::duration<double, std::milli>(whole).count();
  EXPECT_LT(ms, whole_ms / 2) << line << "; a whole load took "
                                                                                << std::chrono::duration<double>(whole).count() << " s";
  EXPECT_EQ(d.client().List()->size(), 0u) << "nothing registered";

  // SIGTERM while a load runs: the load is cancelled, the daemon exits 0 before a load's time.
  Status during = Status::Ok();
  std::thread loader([&] { during = d.client().Load("slow.npy", "slow").status(); });
  std::this_thread::sleep_for(std::chrono::duration_cast<std::chrono::milliseconds>(whole) / 4);
  t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(d.Stop(), 0);
  const auto stop = std::chrono::steady_clock::now() - t0;
  loader.join();
  std::printf("whole load %.0f ms, cancelled after %.0f ms, stop %.0f ms\n", whole_ms, ms, std::chrono::duration<double, std::milli>(stop).count());
  EXPECT_TRUE(during.code() == StatusCode::kCancelled || during.code() == StatusCode::kUnavailable) << during.ToString();
  EXPECT_LT(stop, whole / 2) << "shutdown waited for the load";
}

// Clients that go away at every stage (issue #14's fault suite): an upload abandoned half way, a
// render cancelled while it waits in the queue, a RenderStream cancelled with renders queued, and
// SIGTERM while an upload streams and renders wait. Nothing is registered from a broken upload,
// the daemon serves on with its images intact, nothing leaks (live textures, GPU bytes and queue
// back to the baseline), and the daemon still exits 0.
TEST(HardeningTest, ClientsGoneAtEveryStage) {
  Daemon d;
  auto src = BufferSource::Allocate({64, 64, PixelType::kUint8, 1});
  std::fill_n((*src)->mutable_data(), 64 * 64, uint8_t{77});
  ASSERT_TRUE(d.client().Upload("kept", **src).ok());
  v1::RenderRequest view = SmallRender("kept");
  view.set_width(64);
  view.set_height(64);
  auto first = d.client().Render(view);
  ASSERT_TRUE(first.ok());
  const v1::Stats base = *d.client().Stats();
  auto channel = grpc::CreateChannel(d.address(), grpc::InsecureChannelCredentials());
  auto stub = v1::TileRender::NewStub(channel);

  // An upload abandoned after its header and one chunk of four.
  {
    grpc::ClientContext ctx;
    v1::ImageInfo info;
    auto writer = stub->UploadImage(&ctx, &info);
    v1::UploadImageRequest header;
    header.mutable_header()->set_image_id("half");
    header.mutable_header()->set_width(512);
    header.mutable_header()->set_height(512);
    header.mutable_header()->set_pixel_type(v1::UINT8);
    header.mutable_header()->set_channels(1);
    ASSERT_TRUE(writer->Write(header));
    v1::UploadImageRequest chunk;
    chunk.set_chunk(std::string(512 * 128, '\x01'));
    ASSERT_TRUE(writer->Write(chunk));
    ctx.TryCancel();
    EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  // A render cancelled while queued, and a stream cancelled with three renders queued.
  d.PauseRenders();
  {
    grpc::ClientContext ctx;
    v1::RenderResponse out;
    std::thread cancel([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      ctx.TryCancel();
    });
    EXPECT_EQ(stub->Render(&ctx, view, &out).error_code(), grpc::StatusCode::CANCELLED);
    cancel.join();
  }
  {
    grpc::ClientContext ctx;
    auto stream = stub->RenderStream(&ctx);
    for (int i = 0; i < 3; ++i) {
      v1::RenderStreamRequest item;
      item.set_tag(i);
      *item.mutable_request() = view;
      ASSERT_TRUE(stream->Write(item));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    ctx.TryCancel();
    EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  d.ResumeRenders();
  EXPECT_EQ(d.client().Load("nosuch.png", "x").status().code(), StatusCode::kNotFound) << "serving";
  auto again = d.client().Render(view);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->data(), first->data());
  auto list = d.client().List();
  ASSERT_EQ(list->size(), 1u) << "only the kept image";
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // cancelled jobs leave the queue
  const v1::Stats after = *d.client().Stats();
  EXPECT_EQ(after.images(), base.images());
  EXPECT_EQ(after.live_textures(), base.live_textures());
  EXPECT_EQ(after.gpu_bytes_used(), base.gpu_bytes_used());
  EXPECT_EQ(after.queue_depth(), 0);

  // SIGTERM while an upload is half sent and renders wait in the queue.
  grpc::ClientContext up_ctx;
  v1::ImageInfo up_info;
  auto writer = stub->UploadImage(&up_ctx, &up_info);
  v1::UploadImageRequest header;
  header.mutable_header()->set_image_id("late");
  header.mutable_header()->set_width(512);
  header.mutable_header()->set_height(512);
  header.mutable_header()->set_pixel_type(v1::UINT8);
  header.mutable_header()->set_channels(1);
  ASSERT_TRUE(writer->Write(header));
  d.PauseRenders();
  std::vector<std::thread> renders;
  std::atomic<int> served{0}, refused{0};
  for (int i = 0; i < 3; ++i) {
    renders.emplace_back([&] { (d.client().Render(view).ok() ? served : refused)++; });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::thread stopper([&] { EXPECT_EQ(d.Stop(), 0); });  // Stop resumes renders, then SIGTERM
  writer->WritesDone();
  const grpc::Status upload = writer->Finish();
  EXPECT_FALSE(upload.ok()) << "half an upload registers nothing";
  for (auto& t : renders) t.join();
  stopper.join();
  EXPECT_EQ(served, 3) << refused << " refused: renders queued before SIGTERM are drained";
}

}  // namespace
}  // namespace tilerender::testing
