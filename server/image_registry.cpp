#include "server/image_registry.h"

#include "server/log_text.h"

namespace tilerender::server {

Status ValidateImageId(const std::string& id) {
  if (id.rfind("path:", 0) == 0) {
    // An autoloaded file's id: "path:" and its path under the data root.
    const std::string path = id.substr(5);
    bool ok = !path.empty() && path.size() <= 1024 && path[0] != '/' && path.find("..") == std::string::npos;
    for (char c : path) {
      ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                  c == '-' || c == '/');
    }
    if (!ok) return InvalidArgument("an autoload id is path:RELATIVE/PATH of letters, digits, '.', '_', '-', '/'");
    return Status::Ok();
  }
  if (id.empty() || id.size() > 128) {
    return InvalidArgument("image id must be 1..128 characters, not " + std::to_string(id.size()));
  }
  if (id[0] == '.') return InvalidArgument("image id must not start with '.'");
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return InvalidArgument("image id '" + Printable(id, 64) + "' may hold only letters, digits, '.', '_', '-'");
  }
  return Status::Ok();
}

ImageRegistry::Reservation::~Reservation() {
  if (committed_) return;
  std::lock_guard lock(registry_->mu_);
  registry_->images_.erase(id_);
}

void ImageRegistry::Reservation::Commit(RegisteredImage image) {
  image.id = id_;
  std::lock_guard lock(registry_->mu_);
  registry_->images_[id_] = std::make_shared<const RegisteredImage>(std::move(image));
  committed_ = true;
}

Result<std::unique_ptr<ImageRegistry::Reservation>> ImageRegistry::Reserve(const std::string& id) {
  TR_RETURN_IF_ERROR(ValidateImageId(id));
  std::lock_guard lock(mu_);
  auto [it, inserted] = images_.try_emplace(id, nullptr);
  if (!inserted) {
    return AlreadyExists("image '" + Printable(id, 64) + "' " + (it->second ? "is already loaded" : "is being loaded"));
  }
  return std::make_unique<Reservation>(this, id);
}

Result<std::shared_ptr<const RegisteredImage>> ImageRegistry::Find(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = images_.find(id);
  if (it == images_.end() || !it->second) return NotFound("no image '" + Printable(id, 64) + "'");
  return it->second;
}

Result<std::shared_ptr<const RegisteredImage>> ImageRegistry::Remove(const std::string& id) {
  std::lock_guard lock(mu_);
  auto it = images_.find(id);
  if (it == images_.end() || !it->second) return NotFound("no image '" + Printable(id, 64) + "'");
  auto image = std::move(it->second);
  images_.erase(it);
  return image;
}

std::vector<std::shared_ptr<const RegisteredImage>> ImageRegistry::List() const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<const RegisteredImage>> out;
  for (const auto& [id, image] : images_) {
    if (image) out.push_back(image);
  }
  return out;
}

size_t ImageRegistry::size() const { return List().size(); }

}  // namespace tilerender::server
