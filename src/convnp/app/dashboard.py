"""A live page for a training run, served by Python's standard library on loopback.

Three parts:

* `RunState`: what the page shows (per-epoch logs, epoch and batch, learning rate, picture
  versions), guarded by a lock because training and the server run in different threads;
* `DashboardServer`: a ``ThreadingHTTPServer`` in a daemon thread answering ``/`` (the page:
  one HTML file with inline JavaScript and SVG, no network), ``/state.json`` and
  ``/images/filters.png`` / ``/images/feature_maps.png``; it binds 127.0.0.1 unless told
  otherwise;
* `Dashboard`: the callback for ``model.fit`` that feeds a `RunState` and writes the
  pictures (first-layer filters, feature maps of one fixed image) after every epoch, drawn
  with `convnp.plot.tiles` in a few milliseconds.

`replay_state` rebuilds a finished run from its ``history.csv`` and saved pictures, for
``convnp dashboard RUN_DIR``.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from convnp.callbacks import Callback
from convnp.io._files import atomic_write
from convnp.plot import probe, tiles

IMAGES = ("filters", "feature_maps")  # the only files the server hands out
PICTURES_DIR = "dashboard"  # where a run directory keeps the page's pictures


class RunState:
    """What the page shows about one run; every method is safe to call from any thread."""

    def __init__(self, title: str = "training", image_dir: str | os.PathLike | None = None):
        self._lock = threading.Lock()
        self.title = title
        self.image_dir = Path(image_dir) if image_dir is not None else None
        self.status = "starting"
        self.history: dict[str, list[float | None]] = {}
        self.epoch = 0  # finished epochs
        self.epochs: int | None = None
        self.batch = 0
        self.steps: int | None = None
        self.learning_rate: float | None = None
        self.image_versions: dict[str, int] = {}

    def update(self, **fields: Any) -> None:
        with self._lock:
            for key, value in fields.items():
                if not hasattr(self, key) or key.startswith("_"):
                    raise AttributeError(f"RunState has no field {key!r}")
                setattr(self, key, value)

    def add_epoch(self, logs: dict[str, Any]) -> None:
        """Append one epoch's logs (missing series get a gap, so curves stay aligned)."""
        with self._lock:
            done = self.epoch
            for key in set(self.history) | set(logs):
                series = self.history.setdefault(key, [None] * done)
                value = logs.get(key)
                series.append(float(value) if _is_number(value) else None)
            self.epoch = done + 1

    def image_written(self, name: str) -> None:
        with self._lock:
            self.image_versions[name] = self.image_versions.get(name, 0) + 1

    def image_path(self, name: str) -> Path | None:
        if name not in IMAGES or self.image_dir is None:
            return None
        path = self.image_dir / f"{name}.png"
        return path if path.is_file() else None

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "title": self.title, "status": self.status, "epoch": self.epoch,
                "epochs": self.epochs, "batch": self.batch, "steps": self.steps,
                "learning_rate": self.learning_rate,
                "history": {k: list(v) for k, v in self.history.items()},
                "images": dict(self.image_versions),
            }


def _is_number(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _page() -> bytes:
    return resources.files("convnp.app").joinpath("dashboard.html").read_bytes()


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path in ("/", "/index.html"):
            self._send(200, "text/html; charset=utf-8", _page())
        elif path == "/state.json":
            body = json.dumps(self.server.state.snapshot()).encode()
            self._send(200, "application/json", body)
        elif path.startswith("/images/") and path.endswith(".png"):
            found = self.server.state.image_path(path[len("/images/"):-len(".png")])
            if found is None:
                self._send(404, "text/plain", b"no such picture yet")
            else:
                self._send(200, "image/png", found.read_bytes())
        else:
            self._send(404, "text/plain", b"not found")

    def _send(self, code: int, kind: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the browser went away

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep the terminal for the progress bar


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], state: RunState):
        self.state = state
        super().__init__(address, _Handler)


class DashboardServer:
    """Serve a `RunState` in a background thread.

    Args:
        state: what to show.
        host: the address to listen on; loopback unless the user asks for another.
        port: the port; 0 picks a free one (see `url`).

    Raises:
        ValueError: a port outside 0..65535.
        OSError: the address cannot be bound (port taken, unknown host).
    """

    def __init__(self, state: RunState, host: str = "127.0.0.1", port: int = 0):
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be an int in 0..65535, got {port!r}")
        self.state = state
        self._server = _Server((host, port), state)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="convnp-dashboard", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        return f"http://{shown}:{port}/"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _learning_rate(model: Any) -> float | None:
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return None
    rate = getattr(optimizer, "learning_rate", None)
    if callable(rate):  # a schedule: its value at the current step
        rate = rate(getattr(optimizer, "iterations", 0))
    return float(rate) if _is_number(rate) else None


class Dashboard(Callback):
    """A live training page: ``model.fit(..., callbacks=[Dashboard(image=x_val[0])])``.

    Args:
        image: one input image ``(H, W, C)`` whose feature maps the page shows (optional).
        host: address to listen on (loopback by default; another host exposes the page to
            the network, so only pass one on purpose).
        port: 0 picks a free port.
        log_dir: where the pictures are written (``filters.png``, ``feature_maps.png``); a
            fresh temporary directory by default.
        layer: the layer whose feature maps are shown (name, index or Layer); by default the
            first convolution (else the first layer with feature-map output).
        stream: where the address is printed (``sys.stdout``; None prints nothing).

    The server starts with training (or at `start`) and keeps running after it, so the page
    stays up; `close` stops it. ``url`` is the address.
    """

    def __init__(self, image=None, host: str = "127.0.0.1", port: int = 0,
                 log_dir: str | os.PathLike | None = None, layer=None, stream=sys.stdout,
                 title: str | None = None):
        super().__init__()
        self.image = None if image is None else np.asarray(image)
        self.host, self.port, self.layer, self.stream = host, port, layer, stream
        self.log_dir = Path(log_dir) if log_dir is not None else None
        self.title = title
        self.state: RunState | None = None
        self.server: DashboardServer | None = None

    @property
    def url(self) -> str | None:
        return None if self.server is None else self.server.url

    def start(self) -> str:
        """Start serving (idempotent); returns the page's address."""
        if self.server is None:
            if self.log_dir is None:
                self.log_dir = Path(tempfile.mkdtemp(prefix="convnp-dashboard-"))
            self.log_dir.mkdir(parents=True, exist_ok=True)
            self.state = RunState(self.title or "training", self.log_dir)
            self.server = DashboardServer(self.state, self.host, self.port)
            if self.stream is not None:
                print(f"dashboard: {self.server.url}", file=self.stream, flush=True)
        return self.server.url

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None

    # -- callback hooks -------------------------------------------------------------------

    def on_train_begin(self, logs=None) -> None:
        self.start()
        self.state.update(status="training", epochs=self.params.get("epochs"),
                          steps=self.params.get("steps"),
                          title=self.title or getattr(self.model, "name", "training"),
                          learning_rate=_learning_rate(self.model))
        self._draw()

    def on_epoch_begin(self, epoch, logs=None) -> None:
        self.state.update(batch=0)

    def on_train_batch_end(self, batch, logs=None) -> None:
        self.state.update(batch=batch + 1)

    def on_epoch_end(self, epoch, logs=None) -> None:
        self.state.add_epoch(dict(logs or {}))
        self.state.update(learning_rate=_learning_rate(self.model))
        self._draw()

    def on_train_end(self, logs=None) -> None:
        self.state.update(status="finished")

    def _draw(self) -> None:
        """Write the two pictures; runs in the training thread between batches (the probe
        runs the model's layers, which training must not be using at the same time)."""
        convs = probe.conv_layers(self.model)
        if convs:
            kernel = convs[0].get_weights()[0]
            self._write("filters", tiles.filter_tiles(kernel))
        if self.image is not None:
            layer = (probe.find_layer(self.model, self.layer) if self.layer is not None
                     else next(iter(probe.conv_layers(self.model)
                                    + probe.spatial_layers(self.model)), None))
            if layer is not None:
                maps = probe.layer_outputs(self.model, self.image, [layer])[0]
                if maps.ndim == 4:
                    self._write("feature_maps", tiles.feature_tiles(maps[0]))

    def _write(self, name: str, image: np.ndarray) -> None:
        data = tiles.encode_png(image)
        atomic_write(self.log_dir / f"{name}.png", lambda f: f.write(data))
        self.state.image_written(name)


def save_pictures(dashboard: Dashboard, run_dir: str | os.PathLike) -> list[Path]:
    """Copy the dashboard's last pictures into ``run_dir/dashboard/`` (for replay)."""
    if dashboard.log_dir is None:
        return []
    target = Path(run_dir) / PICTURES_DIR
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for name in IMAGES:
        source = dashboard.log_dir / f"{name}.png"
        if source.is_file():
            data = source.read_bytes()
            copied.append(atomic_write(target / f"{name}.png", lambda f, d=data: f.write(d)))
    return copied


def replay_state(run_dir: str | os.PathLike) -> RunState:
    """A finished run's `RunState` from ``run_dir/history.csv`` and ``run_dir/dashboard/``.

    Raises:
        ValueError: ``run_dir`` is not a directory, has no ``history.csv``, or the CSV is not
            a history table (an ``epoch`` column, then numbers).
    """
    run = Path(run_dir)
    if not run.is_dir():
        raise ValueError(f"expected a run directory (with history.csv), got {run_dir!s}")
    table = run / "history.csv"
    if not table.is_file():
        raise ValueError(f"{run} has no history.csv: not a finished `convnp train` run")
    state = RunState(run.name, run / PICTURES_DIR)
    with open(table, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows or not rows[0] or rows[0][0] != "epoch":
        raise ValueError(f"{table} is not a history table (its first column must be 'epoch')")
    names = rows[0][1:]
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(names) + 1:
            raise ValueError(f"{table} line {number}: expected {len(names) + 1} cells, "
                             f"got {len(row)}")
        logs = {}
        for name, cell in zip(names, row[1:]):
            if cell:
                try:
                    logs[name] = float(cell)
                except ValueError:
                    raise ValueError(f"{table} line {number}: {name} is not a number: "
                                     f"{cell[:40]!r}") from None
        state.add_epoch(logs)
    state.update(status="finished (replay)", epochs=state.epoch)
    for name in IMAGES:
        if state.image_path(name) is not None:
            state.image_written(name)
    return state


def remove_log_dir(dashboard: Dashboard) -> None:
    """Delete a temporary picture directory made by `Dashboard.start`."""
    if dashboard.log_dir is not None and dashboard.log_dir.name.startswith("convnp-dashboard-"):
        shutil.rmtree(dashboard.log_dir, ignore_errors=True)
