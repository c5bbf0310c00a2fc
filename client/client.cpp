#include "client/client.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <thread>

#include "core/image/image_file.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace tilerender::client {

std::string DefaultServer() {
  const char* env = std::getenv("TILERENDER_SERVER");
  return env && *env ? env : "127.0.0.1:50051";
}

Status FromGrpc(const grpc::Status& s) {
  if (s.ok()) return Status::Ok();
  return Status(static_cast<StatusCode>(s.error_code()), s.error_message());
}

Client::Client(std::shared_ptr<grpc::Channel> channel, std::string token)
    : channel_(std::move(channel)), stub_(v1::TileRender::NewStub(channel_)), token_(std::move(token)) {}

std::unique_ptr<Client> Client::Connect(const std::string& target, int max_message_bytes) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(max_message_bytes);
  args.SetMaxSendMessageSize(max_message_bytes);
  return std::make_unique<Client>(
      grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args));
}

Result<std::unique_ptr<Client>> Client::Connect(const std::string& target, const ConnectOptions& options) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options.max_message_bytes);
  args.SetMaxSendMessageSize(options.max_message_bytes);
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (options.tls || !options.tls_ca.empty() || !options.tls_cert.empty() || !options.tls_key.empty()) {
    auto read = [](const std::string& path, std::string* out) -> Status {
      if (path.empty()) return Status::Ok();
      TR_ASSIGN_OR_RETURN(*out, ReadWholeFile(path));
      return Status::Ok();
    };
    grpc::SslCredentialsOptions ssl;
    TR_RETURN_IF_ERROR(read(options.tls_ca, &ssl.pem_root_certs));
    TR_RETURN_IF_ERROR(read(options.tls_cert, &ssl.pem_cert_chain));
    TR_RETURN_IF_ERROR(read(options.tls_key, &ssl.pem_private_key));
    credentials = grpc::SslCredentials(ssl);
  }
  return std::make_unique<Client>(grpc::CreateCustomChannel(target, credentials, args), options.token);
}

void Client::Prepare(grpc::ClientContext& ctx, const std::string& image_id) const {
  if (!token_.empty()) ctx.AddMetadata("authorization", "Bearer " + token_);
  // Only what a header can carry (an id the daemon will refuse anyway is not sent along).
  const bool header_safe = image_id.size() <= 1024 && std::all_of(image_id.begin(), image_id.end(), [](char c) {
    return c >= 0x20 && c < 0x7f;
  });
  if (!image_id.empty() && header_safe) ctx.AddMetadata("x-image-id", image_id);
}

Status Client::Health() {
  auto stub = grpc::health::v1::Health::NewStub(channel_);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse resp;
  TR_RETURN_IF_ERROR(FromGrpc(stub->Check(&ctx, req, &resp)));
  if (resp.status() != grpc::health::v1::HealthCheckResponse::SERVING) {
    return Unavailable("daemon is not serving (health status " + std::to_string(resp.status()) +
                       ")");
  }
  return Status::Ok();
}

Status Client::WaitForServing(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::system_clock::now() + timeout;
  auto stub = grpc::health::v1::Health::NewStub(channel_);
  for (;;) {
    // wait_for_ready: the call waits for the channel to connect instead of failing at once.
    grpc::ClientContext ctx;
    ctx.set_wait_for_ready(true);
    ctx.set_deadline(deadline);
    grpc::health::v1::HealthCheckRequest req;
    grpc::health::v1::HealthCheckResponse resp;
    const grpc::Status s = stub->Check(&ctx, req, &resp);
    if (s.ok() && resp.status() == grpc::health::v1::HealthCheckResponse::SERVING)
      return Status::Ok();
    if (std::chrono::system_clock::now() >= deadline) {
      return s.ok() ? Unavailable("daemon did not report SERVING in time") : FromGrpc(s);
    }
    if (s.ok()) {
      // Up but not serving yet: watch for the change rather than poll.
      grpc::ClientContext wctx;
      wctx.set_deadline(deadline);
      auto reader = stub->Watch(&wctx, req);
      while (reader->Read(&resp)) {
        if (resp.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
          wctx.TryCancel();
          return Status::Ok();
        }
      }
    }
  }
}

Result<v1::ServerInfo> Client::Info() {
  grpc::ClientContext ctx;
  Prepare(ctx);
  v1::ServerInfo out;
  TR_RETURN_IF_ERROR(FromGrpc(stub_->GetServerInfo(&ctx, {}, &out)));
  return out;
}

Result<v1::ImageInfo> Client::Load(const std::string& path, const std::string& id, int page, int64_t z, int64_t t) {
  v1::LoadImageRequest req;
  req.set_path(path);
  req.set_image_id(id);
  req.set_page(page);
  req.set_z(z);
  req.set_t(t);
  return Load(req);
}

Result<v1::ImageInfo> Client::Load(const v1::LoadImageRequest& req, std::chrono::milliseconds timeout) {
  grpc::ClientContext ctx;
  Prepare(ctx);
  if (timeout.count() > 0) ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  v1::ImageInfo out;
  TR_RETURN_IF_ERROR(FromGrpc(stub_->LoadImage(&ctx, req, &out)));
  return out;
}

Result<v1::ImageInfo> Client::Upload(const std::string& id, ImageSource& source,
                                     const UploadOptions& options) {
  const ImageDesc& d = source.desc();
  // Only what could not even be described (overflowing sizes) is refused here; the daemon applies
  // its own limits to the header before any pixel is sent.
  ImageLimits unlimited{INT64_MAX, INT64_MAX, INT64_MAX};
  TR_RETURN_IF_ERROR(ValidateDesc(d, unlimited));
  grpc::ClientContext ctx;
  Prepare(ctx);
  v1::ImageInfo out;
  auto writer = stub_->UploadImage(&ctx, &out);
  v1::UploadImageRequest msg;
  v1::UploadHeader* h = msg.mutable_header();
  h->set_image_id(id);
  h->set_width(d.width);
  h->set_height(d.height);
  h->set_pixel_type(d.type == PixelType::kUint8    ? v1::UINT8
                    : d.type == PixelType::kUint16 ? v1::UINT16
                    : d.type == PixelType::kUint32 ? v1::UINT32
                                                   : v1::FLOAT32);
  h->set_channels(d.channels);
  h->set_planes(d.planes);
  h->set_labels(options.labels);
  const size_t total = d.byte_size();
  bool cancelled = false;
  if (writer->Write(msg)) {
    const size_t row = d.row_bytes();
    const size_t chunk = std::max<size_t>(options.chunk_bytes, 1);
    // Without contiguous rows, read bands of whole rows of about one chunk each, a multiple of the
    // rows the source decodes together (whole TIFF strips or tile rows: none decoded twice).
    int64_t band_rows =
        std::max<int64_t>(1, static_cast<int64_t>(chunk / std::max<size_t>(row, 1)));
    if (const int64_t p = source.preferred_band_rows(); p > 0 && p < d.height) {
      if (p <= band_rows) {
        band_rows = band_rows / p * p;
      } else if (static_cast<size_t>(p) * row <= (size_t{64} << 20)) {
        band_rows = p;
      }
    }
    std::vector<uint8_t> band;
    size_t sent = 0;
    // Plane after plane (numpy's (C, H, W) order); each from memory or in bands of rows.
    bool ended = false;  // the server ended the call: Finish tells why
    for (int plane = 0; plane < d.planes && !cancelled && !ended; ++plane) {
      const uint8_t* whole = source.contiguous(0, plane);
      const size_t plane_start = sent;
      for (int64_t y = 0; y < d.height && !cancelled && !ended;) {
        const uint8_t* data;
        size_t n;
        if (whole != nullptr) {
          data = whole + (sent - plane_start);
          n = std::min(chunk, plane_start + d.plane_bytes() - sent);
        } else {
          const int64_t rows = std::min(band_rows, d.height - y);
          band.resize(static_cast<size_t>(rows) * row);
          const Status s = source.ReadRect(plane, 0, y, d.width, rows, band.data(), row);
          if (!s.ok()) {
            ctx.TryCancel();
            writer->Finish();
            return s;
          }
          data = band.data();
          n = band.size();
        }
        msg.Clear();
        msg.set_chunk(data, n);
        if (!writer->Write(msg)) {
          ended = true;
          break;
        }
        sent += n;
        y = static_cast<int64_t>((sent - plane_start) / row);
        if (options.progress && !options.progress(sent, total)) {
          cancelled = true;
          ctx.TryCancel();
        }
      }
    }
  }
  writer->WritesDone();
  const grpc::Status s = writer->Finish();
  if (cancelled) return Cancelled("upload cancelled by the caller");
  TR_RETURN_IF_ERROR(FromGrpc(s));
  return out;
}

Result<std::vector<v1::ImageInfo>> Client::List() {
  grpc::ClientContext ctx;
  Prepare(ctx);
  v1::ListImagesResponse resp;
  TR_RETURN_IF_ERROR(FromGrpc(stub_->ListImages(&ctx, {}, &resp)));
  return std::vector<v1::ImageInfo>(resp.images().begin(), resp.images().end());
}

Result<int64_t> Client::Unload(const std::string& id) {
  grpc::ClientContext ctx;
  Prepare(ctx);
  v1::UnloadImageRequest req;
  req.set_image_id(id);
  v1::UnloadImageResponse resp;
  TR_RETURN_IF_ERROR(FromGrpc(stub_->UnloadImage(&ctx, req, &resp)));
  return resp.gpu_bytes_freed();
}

Result<v1::RenderResponse> Client::Render(const v1::RenderRequest& request,
                                          std::chrono::milliseconds timeout) {
  grpc::ClientContext ctx;
  Prepare(ctx, request.layers_size() > 0 ? request.layers(0).image_id() : "");
  if (timeout.count() > 0) ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  v1::RenderResponse resp;
  TR_RETURN_IF_ERROR(FromGrpc(stub_->Render(&ctx, request, &resp)));
  return resp;
}

Status Client::RenderStream(const std::vector<v1::RenderRequest>& requests,
                            const StreamCallback& on_result) {
  grpc::ClientContext ctx;
  Prepare(ctx, !requests.empty() && requests[0].layers_size() > 0 ? requests[0].layers(0).image_id() : "");
  auto stream = stub_->RenderStream(&ctx);
  // Write everything from a second thread: the server answers while we still send.
  std::thread writer([&] {
    v1::RenderStreamRequest item;
    for (size_t i = 0; i < requests.size(); ++i) {
      item.set_tag(i);
      *item.mutable_request() = requests[i];
      if (!stream->Write(item)) break;
    }
    stream->WritesDone();
  });
  v1::RenderStreamResponse resp;
  size_t received = 0;
  while (stream->Read(&resp)) {
    const size_t index = resp.tag();
    if (resp.code() == 0) {
      on_result(index, std::move(*resp.mutable_response()));
    } else {
      on_result(index, Status(static_cast<StatusCode>(resp.code()), resp.message()));
    }
    ++received;
  }
  writer.join();
  TR_RETURN_IF_ERROR(FromGrpc(stream->Finish()));
  if (received != requests.size()) {
    return Internal("stream ended after " + std::to_string(received) + " of " +
                    std::to_string(requests.size()) + " answers");
  }
  return Status::Ok();
}

Result<v1::Stats> Client::Stats() {
  grpc::ClientContext ctx;
  Prepare(ctx);
  v1::Stats out;
  TR_RETURN_IF_ERROR(FromGrpc(stub_->GetStats(&ctx, {}, &out)));
  return out;
}

Result<v1::ProbeResponse> Client::Probe(const v1::ProbeRequest& request) {
  grpc::ClientContext ctx;
  Prepare(ctx, request.layers_size() > 0 ? request.layers(0).image_id() : "");
  v1::ProbeResponse out;
  TR_RETURN_IF_ERROR(FromGrpc(stub_->Probe(&ctx, request, &out)));
  return out;
}

Result<v1::ProfileResponse> Client::Profile(const v1::ProfileRequest& request) {
  grpc::ClientContext ctx;
  Prepare(ctx, request.image_id());
  v1::ProfileResponse out;
  TR_RETURN_IF_ERROR(FromGrpc(stub_->Profile(&ctx, request, &out)));
  return out;
}

}  // namespace tilerender::client
