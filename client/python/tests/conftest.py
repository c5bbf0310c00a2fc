"""Starts the real tilerenderd on a loopback port for the session; the C++ CLI is there to compare with.

TILERENDERD and TILERENDER_CLI name the binaries (ctest passes them); the data root is a temporary
directory.
"""

import os
import pathlib
import subprocess
import sys

import pytest

import tilerender as tr

ROOT = pathlib.Path(__file__).resolve().parents[3]


def _binary(env: str, default: str) -> str:
    path = os.environ.get(env) or str(ROOT / "build" / default)
    if not os.access(path, os.X_OK):
        pytest.exit(f"no {path}: build first, or set {env}", returncode=2)
    return path


class Daemon:
    def __init__(self, data_root: pathlib.Path, args=()) -> None:
        self.data_root = data_root
        self.log_path = data_root.parent / "tilerenderd.log"
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [_binary("TILERENDERD", "server/tilerenderd"), "--listen", "127.0.0.1:0", "--data-root", str(data_root),
             *args],
            stdout=subprocess.PIPE, stderr=self._log)
        line = self.process.stdout.readline().decode()  # "tilerenderd listening on HOST:PORT", once it listens
        prefix = "tilerenderd listening on "
        if not line.startswith(prefix):
            self.stop()
            pytest.exit(f"tilerenderd did not start: {line!r}; log {self.log_path}", returncode=2)
        self.address = line[len(prefix):].strip()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process.stdout.close()
        self._log.close()


@pytest.fixture(scope="session")
def daemon(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("tilerender") / "data"
    root.mkdir()
    d = Daemon(root)
    yield d
    d.stop()


@pytest.fixture(scope="session")
def cli(daemon: Daemon):
    """Runs the C++ CLI against the daemon: cli("render", "--id", ...) -> CompletedProcess."""
    path = _binary("TILERENDER_CLI", "client/tilerender")

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        r = subprocess.run([path, "--server", daemon.address, *args], capture_output=True, text=True)
        if check and r.returncode != 0:
            raise AssertionError(f"tilerender {' '.join(args)}: {r.stderr}")
        return r

    return run


@pytest.fixture()
def client(daemon: Daemon):
    with tr.Client(daemon.address, timeout=120) as c:
        yield c


@pytest.fixture(scope="session")
def python() -> str:
    return sys.executable
