# Package discovery for the whole project lives here, in one place.
find_package(Threads REQUIRED)
find_package(PNG REQUIRED)
find_package(ZLIB REQUIRED)
find_package(spdlog REQUIRED)
find_package(TIFF REQUIRED)

if(TILERENDER_BUILD_SERVER)
  find_package(Protobuf REQUIRED)
  find_package(gRPC CONFIG REQUIRED)  # gRPC::grpc++, gRPC::grpc++_reflection, gRPC::grpc_cpp_plugin
  find_package(CLI11 REQUIRED)
  find_package(nlohmann_json REQUIRED)
endif()

if(TILERENDER_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
