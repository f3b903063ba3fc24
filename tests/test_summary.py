"""tf.summary: event files compared value by value with the file TensorFlow 2.21 wrote for the
same calls (fixtures/summary_tf.tfevents, fixtures/summary_cases.py), TensorFlow's rules
(default writer, step, record_if, closed writers), and TensorBoard's own reader when the
``tensorboard`` package is installed."""

from __future__ import annotations

import io
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import convnp as tf
from convnp.tfevents import read_events
from tests.fixtures.summary_cases import inputs, write_cases

FIXTURE = Path(__file__).parent / "fixtures" / "summary_tf.tfevents"


def _file(folder: Path) -> Path:
    (path,) = folder.glob("events.out.tfevents.*")
    return path


def _values(path) -> list[tuple[int, str, dict]]:
    return [(event["step"], tag, value) for event in read_events(path)
            for tag, value in event["tensors"].items()]


def _pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)))


def test_same_values_as_tensorflow(tmp_path):
    pytest.importorskip("PIL")
    write_cases(tf, str(tmp_path))
    ours, theirs = _values(_file(tmp_path)), _values(FIXTURE)
    assert [(s, t, v["plugin"], v["description"]) for s, t, v in ours] == \
        [(s, t, v["plugin"], v["description"]) for s, t, v in theirs]
    assert len(ours) == 15
    for (_, tag, mine), (_, _, tfs) in zip(ours, theirs):
        a, b = mine["value"], tfs["value"]
        assert a.shape == b.shape and a.dtype == b.dtype, tag
        if mine["plugin"] == "images":  # PNG bytes differ by encoder; pixels must not
            assert list(a[:2]) == list(b[:2]), tag
            for x, y in zip(a[2:], b[2:]):
                np.testing.assert_array_equal(_pixels(x), _pixels(y), err_msg=tag)
        elif a.dtype == object:
            assert a.tolist() == b.tolist(), tag
        else:
            np.testing.assert_allclose(a, b, rtol=1e-15, atol=1e-15, err_msg=tag)


def test_outside_a_writer_nothing_is_written(tmp_path):
    result = tf.summary.scalar("loss", 1.0, step=0)
    assert tf.is_tensor(result) and result.dtype == tf.bool and not result
    assert not tf.summary.scalar("loss", 1.0)  # no step, no writer: still only False
    assert not tf.summary.should_record_summaries()
    writer = tf.summary.create_file_writer(tmp_path / "run")
    events = read_events(_file(tmp_path / "run"))  # the file exists from the start
    assert [e.get("file_version") for e in events] == ["brain.Event:2"]
    with writer.as_default():
        assert tf.summary.should_record_summaries()
    assert not tf.summary.histogram("h", [1.0], step=0)
    assert len(read_events(writer.path)) == 1


def test_step_rules(tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path))
    with writer.as_default():
        with pytest.raises(ValueError, match="no step set"):
            tf.summary.scalar("loss", 1.0)
        with pytest.raises(TypeError, match="integer"):
            tf.summary.scalar("loss", 1.0, step=1.5)
        assert tf.summary.scalar("a", 1.0, step=np.int64(4))
    with writer.as_default(step=7):
        assert tf.summary.experimental.get_step() == 7
        tf.summary.scalar("b", 2.0)
        tf.summary.scalar("c", 2.0, step=8)  # an explicit step wins
    assert tf.summary.experimental.get_step() is None
    counter = tf.Variable(3, dtype="int64")
    tf.summary.experimental.set_step(counter)  # a Variable is read at each summary
    try:
        with writer.as_default():
            tf.summary.scalar("d", 1.0)
            counter.assign_add(2)
            tf.summary.scalar("d", 1.0)
        with pytest.raises(TypeError, match="step"):
            tf.summary.experimental.set_step("5")
    finally:
        tf.summary.experimental.set_step(None)
    steps = [(s, t) for s, t, _ in _values(writer.path)]
    assert steps == [(4, "a"), (7, "b"), (8, "c"), (3, "d"), (5, "d")]


def test_scalar_values_tags_and_checks(tmp_path):
    writer = tf.summary.create_file_writer(tmp_path)
    with writer.as_default(step=0):
        tf.summary.scalar("t", tf.constant(2.5))
        with tf.name_scope("outer"), tf.name_scope("inner"):
            tf.summary.scalar("deep", np.float64(1e300))  # float32 overflow: inf, as TF
        with tf.name_scope("a") as a, tf.name_scope("b") as b, tf.name_scope("c/") as c:
            assert (a, b, c) == ("a/", "a/b/", "c/")  # TensorFlow's eager scopes
        with tf.summary.experimental.summary_scope("loss") as (tag, scope):
            assert (tag, scope) == ("loss", "loss/")
        with pytest.raises(ValueError, match="scalar shape"):
            tf.summary.scalar("v", [1.0, 2.0])
        with pytest.raises(TypeError, match="number"):
            tf.summary.scalar("s", "abc")
        with pytest.raises(TypeError, match="name"):
            tf.summary.scalar(3, 1.0)
    values = {t: v for _, t, v in _values(writer.path)}
    assert set(values) == {"t", "outer/inner/deep"}
    assert values["t"]["value"].dtype == np.float32 and values["t"]["value"] == 2.5
    assert np.isinf(values["outer/inner/deep"]["value"])


def test_histogram_buckets(tmp_path):
    writer = tf.summary.create_file_writer(tmp_path)
    with writer.as_default(step=0):
        tf.summary.histogram("h", np.arange(10.0), buckets=4)
        tf.summary.histogram("b", np.array([True, False, True]), buckets=2)
        with pytest.raises(ValueError, match="NaN"):
            tf.summary.histogram("n", [1.0, np.nan])
        with pytest.raises(ValueError, match="buckets"):
            tf.summary.histogram("n", [1.0], buckets=-1)
        with pytest.raises(TypeError, match="numbers"):
            tf.summary.histogram("n", ["a"])
    values = {t: v["value"] for _, t, v in _values(writer.path)}
    np.testing.assert_array_equal(values["h"], [[0, 2.25, 3], [2.25, 4.5, 2], [4.5, 6.75, 2],
                                                [6.75, 9, 3]])
    np.testing.assert_array_equal(values["b"], [[0, 0.5, 1], [0.5, 1, 2]])


def test_images(tmp_path):
    pytest.importorskip("PIL")
    writer = tf.summary.create_file_writer(tmp_path)
    batch = inputs()["gray"]
    with writer.as_default(step=0):
        assert tf.summary.image("g", batch, max_outputs=1)
        tf.summary.image("none", batch, max_outputs=0)
        with pytest.raises(ValueError, match="rank 4"):
            tf.summary.image("x", batch[0])
        with pytest.raises(ValueError, match="channels"):
            tf.summary.image("x", np.zeros((1, 2, 2, 5)))
        with pytest.raises(TypeError, match="uint8"):
            tf.summary.image("x", np.zeros((1, 2, 2, 3), dtype=bool))
        with pytest.raises(ValueError, match="max_outputs"):
            tf.summary.image("x", batch, max_outputs=-1)
    values = {t: v["value"] for _, t, v in _values(writer.path)}
    assert values["g"][:2].tolist() == [b"4", b"3"]  # width, height
    np.testing.assert_array_equal(_pixels(values["g"][2]), batch[0, :, :, 0])
    assert values["none"].tolist() == [b"4", b"3"]


def test_image_without_pillow_is_a_clear_import_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    writer = tf.summary.create_file_writer(tmp_path)
    with writer.as_default(step=0):
        with pytest.raises(ImportError, match="tf.summary.image needs Pillow"):
            tf.summary.image("x", np.zeros((1, 2, 2, 3), np.uint8))
        assert tf.summary.scalar("still", 1.0)  # the other summaries need no Pillow


def test_text(tmp_path):
    writer = tf.summary.create_file_writer(tmp_path)
    with writer.as_default(step=0):
        tf.summary.text("t", "héllo", description="greeting")
        tf.summary.text("b", [b"x", b"y"])
        with pytest.raises(TypeError, match="string"):
            tf.summary.text("n", 3)
    values = {t: v for _, t, v in _values(writer.path)}
    assert values["t"]["value"].tolist() == "héllo".encode()
    assert values["t"]["plugin"] == "text" and values["t"]["description"] == "greeting"
    assert values["b"]["value"].tolist() == [b"x", b"y"]


def test_record_if_and_noop_writer(tmp_path):
    writer = tf.summary.create_file_writer(tmp_path)
    step = {"n": 0}
    with writer.as_default():
        with tf.summary.record_if(False):
            assert not tf.summary.scalar("off", 1.0, step=0)
            assert not tf.summary.should_record_summaries()
        with tf.summary.record_if(lambda: step["n"] % 2 == 0):
            for n in range(4):
                step["n"] = n
                tf.summary.scalar("even", 1.0, step=n)
    with tf.summary.create_noop_writer().as_default():
        assert not tf.summary.scalar("noop", 1.0, step=0)
        assert not tf.summary.should_record_summaries()
    assert [(s, t) for s, t, _ in _values(writer.path)] == [(0, "even"), (2, "even")]


def test_writer_lifecycle(tmp_path):
    first = tf.summary.create_file_writer(tmp_path / "a", filename_suffix=".run1")
    second = tf.summary.create_file_writer(tmp_path / "b")
    assert first.path.endswith(".run1") and second.path.endswith(".v2")
    with first.as_default(step=0):
        with second.as_default():
            tf.summary.scalar("inner", 1.0)
        tf.summary.scalar("outer", 1.0)
    second.set_as_default(step=1)
    try:
        tf.summary.scalar("set", 1.0)
        tf.summary.flush()
        second.close()
        with pytest.raises(RuntimeError, match="closed"):
            tf.summary.scalar("late", 1.0)
    finally:
        from convnp.summary import _state

        _state.writer = None  # no public way back to "no default writer", as in TensorFlow
        tf.summary.experimental.set_step(None)
    with pytest.raises(RuntimeError, match="closed"), second.as_default():
        pass
    with pytest.raises(RuntimeError, match="closed"):
        second.init()
    second.flush()  # allowed after close, as in TensorFlow
    assert [t for _, t, _ in _values(first.path)] == ["outer"]
    assert [t for _, t, _ in _values(second.path)] == ["inner", "set"]
    for bad, kind in (({"logdir": 3}, TypeError), ({"logdir": ""}, ValueError),
                      ({"logdir": "x", "max_queue": -1}, ValueError),
                      ({"logdir": "x", "experimental_mesh": object()}, ValueError)):
        with pytest.raises(kind):
            tf.summary.create_file_writer(**bad)


def test_default_writer_belongs_to_the_thread(tmp_path):
    writer = tf.summary.create_file_writer(tmp_path)
    seen = []
    with writer.as_default(step=0):
        worker = threading.Thread(target=lambda: seen.append(
            bool(tf.summary.scalar("other", 1.0, step=0))))
        worker.start()
        worker.join()
    assert seen == [False]


def test_write_and_raw_summaries(tmp_path):
    from convnp.io.protobuf import field_bytes, field_float, field_string
    from convnp.tfevents import summary_metadata

    writer = tf.summary.create_file_writer(tmp_path)
    raw = field_bytes(1, field_string(1, "raw") + field_float(2, 4.0))  # a Summary message
    with writer.as_default(step=2):
        assert tf.summary.write("plain", np.array([1, 2], np.int32))
        assert tf.summary.write("lazy", lambda: 3.0, metadata=summary_metadata("scalars"))
        assert tf.summary.write("words", ["a", "b"])
        assert tf.summary.experimental.write_raw_pb(raw)
        with pytest.raises(TypeError, match="metadata"):
            tf.summary.write("bad", 1.0, metadata=3)
    events = read_events(writer.path)
    values = {t: v for e in events for t, v in e["tensors"].items()}
    assert values["plain"]["value"].tolist() == [1, 2] and values["plain"]["plugin"] == ""
    assert values["lazy"]["plugin"] == "scalars"
    assert values["lazy"]["value"].dtype == np.float32  # a Python float, as TensorFlow
    assert values["words"]["value"].tolist() == [b"a", b"b"]
    assert events[-1]["scalars"] == {"raw": 4.0} and events[-1]["step"] == 2


def test_compat_import_paths():
    from convnp import compat

    try:
        compat.as_tensorflow()
        from tensorflow.summary import create_file_writer
        from tensorflow.summary.experimental import set_step

        assert create_file_writer is tf.summary.create_file_writer
        assert set_step is tf.summary.experimental.set_step
    finally:
        compat.restore()


def test_tensorboard_reads_scalars_images_histograms(tmp_path):
    pytest.importorskip("tensorboard")
    pytest.importorskip("PIL")
    from tensorboard.backend.event_processing import plugin_event_accumulator
    from tensorboard.util import tensor_util

    write_cases(tf, str(tmp_path))
    acc = plugin_event_accumulator.EventAccumulator(str(tmp_path))
    acc.Reload()
    tags = acc.Tags()["tensors"]
    assert {"loss", "train/acc", "weights", "rgb", "note"} <= set(tags)
    for tag, plugin in (("loss", "scalars"), ("weights", "histograms"), ("rgb", "images"),
                        ("note", "text")):
        assert acc.SummaryMetadata(tag).plugin_data.plugin_name == plugin
    (loss,) = acc.Tensors("loss")
    assert loss.step == 1 and tensor_util.make_ndarray(loss.tensor_proto) == np.float32(0.123)
    (hist,) = acc.Tensors("weights")
    table = tensor_util.make_ndarray(hist.tensor_proto)
    assert table.shape == (30, 3) and table[:, 2].sum() == 63
    (images,) = acc.Tensors("rgb")
    strings = tensor_util.make_ndarray(images.tensor_proto)
    assert len(strings) == 5 and _pixels(strings[2]).shape == (5, 6, 3)
    assert acc.SummaryMetadata("train/acc").summary_description == "accuracy"
