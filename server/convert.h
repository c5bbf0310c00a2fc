#pragma once
// proto <-> core types, and nothing else. Unknown image ids are NOT_FOUND here.

#include "core/engine.h"
#include "server/image_registry.h"
#include "tilerender/v1/tilerender.pb.h"

namespace tilerender::server {

namespace v1 = ::tilerender::v1;

Result<PixelType> FromProto(v1::PixelType type);
v1::PixelType ToProto(PixelType type);

Result<RenderRequest> FromProto(const v1::RenderRequest& request, const ImageRegistry& registry);
void ToProto(const RegisteredImage& image, v1::ImageInfo* out);
v1::OutputFormat ToProto(OutputFormat format);
void ToProto(const RenderOutput& output, v1::RenderResponse* out);

}  // namespace tilerender::server
