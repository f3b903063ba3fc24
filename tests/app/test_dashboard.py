"""The live training page: state, server routes, the callback in fit, replay, the CLI."""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request

import numpy as np
import pytest

import convnp as tf
from convnp.app import dashboard as dash
from tests.product.test_cli import assert_clean_error, run

tfl = tf.keras.layers


def get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read()


def test_state_keeps_series_aligned_when_a_key_appears_late():
    state = dash.RunState("t")
    state.add_epoch({"loss": 1.0})
    state.add_epoch({"loss": 0.5, "val_loss": 0.7, "note": "text"})
    snap = state.snapshot()
    assert snap["epoch"] == 2
    assert snap["history"]["loss"] == [1.0, 0.5]
    assert snap["history"]["val_loss"] == [None, 0.7]
    assert snap["history"]["note"] == [None, None]
    with pytest.raises(AttributeError, match="no field"):
        state.update(nonsense=1)


def test_server_routes_and_loopback_only(tmp_path):
    state = dash.RunState("run", tmp_path)
    server = dash.DashboardServer(state)
    try:
        assert server.url.startswith("http://127.0.0.1:")
        assert server._server.server_address[0] == "127.0.0.1"
        code, kind, body = get(server.url)
        assert code == 200 and kind.startswith("text/html")
        assert b"/state.json" in body and b"http://" not in body.replace(b"http://www.w3.org", b"")
        code, kind, body = get(server.url + "state.json")
        assert code == 200 and json.loads(body)["title"] == "run"
        assert get(server.url + "images/filters.png")[0] == 404  # not drawn yet
        (tmp_path / "filters.png").write_bytes(b"\x89PNG fake")
        assert get(server.url + "images/filters.png")[:2] == (200, "image/png")
        (tmp_path.parent / "secret.png").write_bytes(b"secret")
        for path in ("images/../secret.png", "images/%2e%2e/secret.png", "etc/passwd",
                     "images/history.png"):
            assert get(server.url + path)[0] == 404, path
    finally:
        server.close()


@pytest.mark.parametrize("port", [-1, 70000, "80", True])
def test_bad_ports_are_refused(port):
    with pytest.raises(ValueError, match="port must be an int"):
        dash.DashboardServer(dash.RunState(), port=port)


def test_callback_serves_a_fit_run(tmp_path):
    image_mod = pytest.importorskip("PIL.Image")
    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential([tfl.Conv2D(4, 3, input_shape=(8, 8, 3)), tfl.ReLU(),
                                 tfl.Flatten(), tfl.Dense(1, activation="sigmoid")])
    model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate=0.01),
                  loss="binary_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).random((16, 8, 8, 3), dtype=np.float32)
    y = (x.mean(axis=(1, 2, 3)) > 0.5).astype(np.float32)
    out = io.StringIO()
    board = dash.Dashboard(image=x[0], log_dir=tmp_path, stream=out)
    try:
        model.fit(x, y, epochs=3, batch_size=8, validation_data=(x, y), callbacks=[board],
                  verbose=0)
        assert out.getvalue() == f"dashboard: {board.url}\n"
        state = json.loads(get(board.url + "state.json")[2])
        assert state["status"] == "finished" and state["epoch"] == 3 and state["epochs"] == 3
        assert state["batch"] == state["steps"] == 2
        assert len(state["history"]["loss"]) == len(state["history"]["val_accuracy"]) == 3
        assert state["learning_rate"] == pytest.approx(0.01)
        assert state["images"] == {"filters": 4, "feature_maps": 4}  # train begin + 3 epochs
        for name in dash.IMAGES:
            with image_mod.open(io.BytesIO(get(board.url + f"images/{name}.png")[2])) as im:
                assert im.format == "PNG" and im.size[0] > 20
        saved = dash.save_pictures(board, tmp_path / "run")
        assert sorted(p.name for p in saved) == ["feature_maps.png", "filters.png"]
    finally:
        board.close()
    assert board.url is None


def test_replay_reads_a_run_directory(tmp_path):
    (tmp_path / "history.csv").write_text("epoch,loss,accuracy,val_loss\n0,0.9,0.5,1.0\n"
                                          "1,0.6,0.7,\n")
    (tmp_path / "dashboard").mkdir()
    (tmp_path / "dashboard" / "filters.png").write_bytes(b"png")
    state = dash.replay_state(tmp_path).snapshot()
    assert state["epoch"] == 2 and state["status"] == "finished (replay)"
    assert state["history"]["val_loss"] == [1.0, None]
    assert state["images"] == {"filters": 1}


@pytest.mark.parametrize("content, words", [
    (None, "has no history.csv"),
    ("loss\n0.1\n", "first column must be 'epoch'"),
    ("epoch,loss\n0,abc\n", "loss is not a number"),
    ("epoch,loss\n0\n", "expected 2 cells"),
])
def test_replay_refuses_what_is_not_a_run(tmp_path, content, words):
    if content is not None:
        (tmp_path / "history.csv").write_text(content)
    with pytest.raises(ValueError, match=words):
        dash.replay_state(tmp_path)


def test_cli_dashboard_bad_input(tmp_path):
    assert_clean_error(run("dashboard", tmp_path / "missing"), "expected a run directory")
    assert_clean_error(run("dashboard", tmp_path), "has no history.csv")
    assert_clean_error(run("dashboard", tmp_path, "--port", "99999"), "port number")
