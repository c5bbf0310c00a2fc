"""Builds the tilerender package with its gRPC stubs generated from ../../proto at build time.

The stubs are never committed: `protoc` (Debian's protobuf-compiler) with `grpc_python_plugin`
(protobuf-compiler-grpc) writes them into the build tree. Debian's bundled grpc_tools protoc is too
old for proto3 `optional` fields, so it is not used. TILERENDER_PROTO_DIR overrides where the
.proto files are; PROTOC and GRPC_PYTHON_PLUGIN override the tools.
"""

import os
import pathlib
import shutil
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = pathlib.Path(__file__).resolve().parent
PROTO = "tilerender/v1/tilerender.proto"


def generate_stubs(out: pathlib.Path) -> None:
    proto_dir = pathlib.Path(os.environ.get("TILERENDER_PROTO_DIR", HERE.parent.parent / "proto"))
    if not (proto_dir / PROTO).is_file():
        raise RuntimeError(f"no {PROTO} under {proto_dir}: build from the tilerender checkout or set TILERENDER_PROTO_DIR")
    protoc = os.environ.get("PROTOC") or shutil.which("protoc")
    plugin = os.environ.get("GRPC_PYTHON_PLUGIN") or shutil.which("grpc_python_plugin")
    if not protoc or not plugin:
        raise RuntimeError("protoc and grpc_python_plugin are needed (Debian: protobuf-compiler protobuf-compiler-grpc)")
    (out / "tilerender" / "v1").mkdir(parents=True, exist_ok=True)
    subprocess.run([protoc, f"-I{proto_dir}", f"--python_out={out}", f"--pyi_out={out}", f"--grpc_python_out={out}",
                    f"--plugin=protoc-gen-grpc_python={plugin}", PROTO], check=True)
    (out / "tilerender" / "v1" / "__init__.py").write_text('"""Generated from proto/tilerender/v1/tilerender.proto."""\n')


class BuildPyWithStubs(build_py):
    def run(self) -> None:
        super().run()
        generate_stubs(pathlib.Path(self.build_lib))


setup(cmdclass={"build_py": BuildPyWithStubs})
