#pragma once
// The daemon's images by id. Ids are reserved while an image loads, so two loads of one id cannot
// race, and a failed load releases its id.

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/engine.h"

namespace tilerender::server {

struct RegisteredImage {
  std::string id;
  ImageHandle handle;
  std::string source;  // "upload" or the path under the data root
  std::string format;
  std::vector<std::string> notes;
  std::vector<std::pair<std::string, std::string>> properties;
  std::vector<std::string> associated_images;
  double load_ms = 0;
};

/// 1..128 characters of [A-Za-z0-9._-], not starting with '.'; or "path:" and a relative path
/// (an autoloaded file).
Status ValidateImageId(const std::string& id);

class ImageRegistry {
 public:
  /// Holds an id while its image loads; releases it unless committed.
  class Reservation {
   public:
    Reservation(ImageRegistry* r, std::string id) : registry_(r), id_(std::move(id)) {}
    ~Reservation();
    Reservation(const Reservation&) = delete;
    Reservation& operator=(const Reservation&) = delete;
    void Commit(RegisteredImage image);
    const std::string& id() const { return id_; }

   private:
    ImageRegistry* registry_;
    std::string id_;
    bool committed_ = false;
  };

  /// ALREADY_EXISTS when the id is loaded or being loaded.
  Result<std::unique_ptr<Reservation>> Reserve(const std::string& id);
  Result<std::shared_ptr<const RegisteredImage>> Find(const std::string& id) const;
  Result<std::shared_ptr<const RegisteredImage>> Remove(const std::string& id);
  std::vector<std::shared_ptr<const RegisteredImage>> List() const;  ///< sorted by id
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const RegisteredImage>> images_;  // null while loading
};

}  // namespace tilerender::server
