#pragma once
// The gRPC adapter over the application layer: proto <-> core conversion, one log line per call,
// Status -> gRPC code (grpc_status). Never a GL call here.

#include "server/app.h"
#include "tilerender/v1/tilerender.grpc.pb.h"

namespace tilerender::server {

struct ServiceOptions {
  int max_message_bytes = 256 << 20;
  int max_stream_in_flight = 4;
};

class TileRenderService final : public v1::TileRender::Service {
 public:
  TileRenderService(App& app, ServiceOptions options);

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
  grpc::Status Probe(grpc::ServerContext*, const v1::ProbeRequest*, v1::ProbeResponse*) override;
  grpc::Status Profile(grpc::ServerContext*, const v1::ProfileRequest*, v1::ProfileResponse*) override;

 private:
  Result<RenderOutput> DoRender(grpc::ServerContext* ctx, const v1::RenderRequest& request);

  App& app_;
  ServiceOptions options_;
  /// A reply must fit one gRPC message: renders larger than this are refused plainly, not failed
  /// inside gRPC (the limit less room for the rest of the reply).
  int64_t output_limit_;
  std::string output_limit_name_;
};

}  // namespace tilerender::server
