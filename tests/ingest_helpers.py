"""Shared helpers for ingestion tests: a real HTTP archive server on 127.0.0.1 with scriptable
faults, and small synthetic mirrors."""

from __future__ import annotations

import hashlib
import shutil
import threading
import zipfile
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from transforms.config import Settings
from transforms.raw.synthetic import generate_mirror
from transforms.raw.venues.binance import archive_relpath

SYMBOL = "BTCUSDT"
# A small window across a month boundary: two monthly funding files, both header variants of
# klines, and one metrics file with a duplicated row (see synthetic.headerless/duplicated...).
WINDOW_START = date(2025, 11, 26)
WINDOW_END = date(2025, 12, 2)  # inclusive
SEED = 11


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """The window's synthetic mirror, generated once per module; tests edit a copy."""
    return generate_mirror(
        tmp_path_factory.mktemp("mirror"), SYMBOL, WINDOW_START, WINDOW_END, SEED
    )


@pytest.fixture
def mirror(pristine, tmp_path) -> Path:
    """A private copy of the pristine mirror that a test may corrupt."""
    return shutil.copytree(pristine, tmp_path / "mirror")


@dataclass
class Fault:
    """One scripted response: a status (with headers), a replacement body, or a short body."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    #: announce the full Content-Length but send only this many bytes, then close
    short_body: int | None = None


class ArchiveServer:
    """Serves `root` like data.binance.vision; `faults[path]` is consumed one per request;
    `routes[path]` (called with the query string) answers dynamic paths, e.g. a REST API."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.routes: dict[str, Callable[[str], bytes]] = {}
        self.faults: dict[str, deque[Fault]] = defaultdict(deque)
        self.requests: list[str] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):
                rel, _, query = self.path.partition("?")
                rel = rel.lstrip("/")
                with server._lock:
                    server.requests.append(rel)
                    queue = server.faults.get(rel)
                    fault = queue.popleft() if queue else None
                if fault is not None and fault.status != 200:
                    body = b"error"
                    self.send_response(fault.status)
                    for k, v in fault.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                path = server.root / rel
                if fault is not None and fault.body is not None:
                    data = fault.body
                elif rel in server.routes:
                    data = server.routes[rel](query)
                elif ".." not in rel and path.is_file():
                    data = path.read_bytes()
                else:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if fault is not None and fault.short_body is not None:
                    self.wfile.write(data[: fault.short_body])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(data)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def count(self, rel: str) -> int:
        with self._lock:
            return self.requests.count(rel)

    def __enter__(self) -> ArchiveServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def make_settings(tmp: Path, **overrides) -> Settings:
    values = dict(
        project_root=tmp,
        data_dir=tmp / "data",
        warehouse_path=tmp / "data" / "warehouse.duckdb",
        source="synthetic",
        symbols=(SYMBOL,),
        venues=("binance",),  # the suite's default; two-venue tests pass binance,bybit
        start_date=WINDOW_START,
        end_date=WINDOW_END,
        synthetic_seed=SEED,
    )
    values.update(overrides)
    return Settings(**values)


def rezip(member: str, data: bytes) -> bytes:
    """A single-member zip archive as bytes."""
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(member, data)
    return buf.getvalue()


def write_archive(root: Path, relpath: str, member: str, csv_text: str) -> Path:
    """Write a zip + matching .CHECKSUM into a mirror layout; returns the zip path."""
    path = root / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = rezip(member, csv_text.encode())
    path.write_bytes(payload)
    digest = hashlib.sha256(payload).hexdigest()
    path.with_name(path.name + ".CHECKSUM").write_text(f"{digest}  {path.name}\n")
    return path


def read_member(zip_path: Path) -> bytes:
    with zipfile.ZipFile(zip_path) as zf:
        return zf.read(zf.namelist()[0])


def _funding_paths(root: Path, month: str) -> list[Path]:
    zip_path = root / archive_relpath("funding", SYMBOL, month)
    return [zip_path, zip_path.with_name(zip_path.name + ".CHECKSUM")]


def hide(root: Path, month: str) -> None:
    """The archive has not published `month` yet: move its funding zip and CHECKSUM aside."""
    for path in _funding_paths(root, month):
        path.rename(path.with_name(path.name + ".hidden"))


def publish(root: Path, month: str) -> None:
    """The archive publishes `month`: put its funding zip and CHECKSUM back."""
    for path in _funding_paths(root, month):
        path.with_name(path.name + ".hidden").rename(path)
