#pragma once
// The gRPC handlers: validate, convert proto <-> core, call the engine. Never a GL call here.

#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>
#include <string>

#include "core/engine.h"
#include "server/image_registry.h"
#include "tilerender/v1/tilerender.grpc.pb.h"

namespace tilerender::server {

struct ServiceOptions {
  std::string data_root;  ///< canonical path
  int64_t max_upload_bytes = int64_t{16} << 30;
  int max_message_bytes = 256 << 20;
  int max_stream_in_flight = 4;
  std::string version;
};

/// Latencies of recent successful renders, for GetStats.
class RenderMetrics {
 public:
  void Record(double ms);
  void RecordError() { errors_.fetch_add(1); }
  /// p in [0, 1] over the last kWindow renders; 0 when none.
  double Percentile(double p) const;
  int64_t served() const { return served_.load(); }
  int64_t errors() const { return errors_.load(); }

 private:
  static constexpr size_t kWindow = 1024;
  mutable std::mutex mu_;
  std::deque<double> window_;
  std::atomic<int64_t> served_{0};
  std::atomic<int64_t> errors_{0};
};

class TileRenderService final : public v1::TileRender::Service {
 public:
  TileRenderService(Engine& engine, ServiceOptions options);

  /// Loads an in-memory image under `id` (the built-in demo image uses it).
  Status AddImage(const std::string& id, std::shared_ptr<ImageSource> source, const std::string& origin);

  grpc::Status GetServerInfo(grpc::ServerContext*, const v1::GetServerInfoRequest*,
                             v1::ServerInfo*) override;
  grpc::Status LoadImage(grpc::ServerContext*, const v1::LoadImageRequest*, v1::ImageInfo*) override;
  grpc::Status UploadImage(grpc::ServerContext*, grpc::ServerReader<v1::UploadImageRequest>*,
                           v1::ImageInfo*) override;
  grpc::Status UnloadImage(grpc::ServerContext*, const v1::UnloadImageRequest*,
                           v1::UnloadImageResponse*) override;
  grpc::Status ListImages(grpc::ServerContext*, const v1::ListImagesRequest*,
                          v1::ListImagesResponse*) override;
  grpc::Status Render(grpc::ServerContext*, const v1::RenderRequest*, v1::RenderResponse*) override;
  grpc::Status RenderStream(
      grpc::ServerContext*,
      grpc::ServerReaderWriter<v1::RenderStreamResponse, v1::RenderStreamRequest>*) override;
  grpc::Status GetStats(grpc::ServerContext*, const v1::GetStatsRequest*, v1::Stats*) override;

 private:
  Result<std::shared_ptr<const RegisteredImage>> Register(ImageRegistry::Reservation& reservation,
                                                          std::shared_ptr<ImageSource> source, RegisteredImage image);
  Result<RenderOutput> DoRender(grpc::ServerContext* ctx, const v1::RenderRequest& request);

  Engine& engine_;
  ServiceOptions options_;
  ImageRegistry registry_;
  RenderMetrics metrics_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace tilerender::server
