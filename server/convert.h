#pragma once
// proto <-> core types, and nothing else. Unknown image ids are NOT_FOUND here.

#include "core/engine.h"
#include <functional>

#include "server/app.h"
#include "server/image_registry.h"
#include "tilerender/v1/tilerender.pb.h"

namespace tilerender::server {

namespace v1 = ::tilerender::v1;

Result<PixelType> FromProto(v1::PixelType type);
v1::PixelType ToProto(PixelType type);

/// Finds (or, with --autoload, loads) the image a layer names.
using ImageLookup = std::function<Result<std::shared_ptr<const RegisteredImage>>(const std::string&)>;
Result<RenderRequest> FromProto(const v1::RenderRequest& request, const ImageLookup& lookup);
void ToProto(const RegisteredImage& image, v1::ImageInfo* out);
v1::OutputFormat ToProto(OutputFormat format);
void ToProto(const RenderOutput& output, v1::RenderResponse* out);
Result<ProbeQuery> FromProto(const v1::ProbeRequest& request);
void ToProto(const std::vector<LayerValues>& layers, v1::ProbeResponse* out);
Result<ProfileQuery> FromProto(const v1::ProfileRequest& request);
void ToProto(const ProfileValues& profile, v1::ProfileResponse* out);

}  // namespace tilerender::server
