"""keras.callbacks.TensorBoard: event files read back by a reader written here from the format
description (bitwise CRC-32C, hand-decoded protobuf), and by tensorboard when installed."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest

import convnp as tf
from convnp.tfevents import crc32c, masked_crc32c

tfl = tf.keras.layers


def _crc32c_bitwise(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 * (crc & 1))
    return crc ^ 0xFFFFFFFF


def _mask(crc: int) -> int:
    rotated = ((crc >> 15) | (crc << 17)) & 0xFFFFFFFF
    return (rotated + 0xA282EAD8) & 0xFFFFFFFF


def _varint(data: bytes, pos: int):
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, pos


def _fields(data: bytes):
    pos, out = 0, []
    while pos < len(data):
        tag, pos = _varint(data, pos)
        number, kind = tag >> 3, tag & 7
        if kind == 0:
            value, pos = _varint(data, pos)
        elif kind == 1:
            value, pos = data[pos:pos + 8], pos + 8
        elif kind == 5:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            assert kind == 2, kind
            size, pos = _varint(data, pos)
            value, pos = data[pos:pos + size], pos + size
        out.append((number, value))
    return out


def _events(path):
    """[(step, file_version or None, {tag: value})] from an event file."""
    data = path.read_bytes()
    pos, events = 0, []
    while pos < len(data):
        header = data[pos:pos + 8]
        (size,) = struct.unpack("<Q", header)
        assert struct.unpack("<I", data[pos + 8:pos + 12])[0] == _mask(_crc32c_bitwise(header))
        body = data[pos + 12:pos + 12 + size]
        tail = data[pos + 12 + size:pos + 16 + size]
        assert struct.unpack("<I", tail)[0] == _mask(_crc32c_bitwise(body))
        pos += 16 + size
        step, version, scalars = 0, None, {}
        for number, value in _fields(body):
            if number == 2:
                step = value
            elif number == 3:
                version = value.decode()
            elif number == 5:
                for _, entry in _fields(value):
                    parts = dict(_fields(entry))
                    scalars[parts[1].decode()] = struct.unpack("<f", parts[2])[0]
        events.append((step, version, scalars))
    return events


def _one_file(folder):
    files = list(folder.glob("events.out.tfevents.*"))
    assert len(files) == 1, files
    return files[0]


def test_crc32c_known_value():
    assert crc32c(b"123456789") == 0xE3069283 == _crc32c_bitwise(b"123456789")
    assert masked_crc32c(b"") == _mask(0)


def test_crc32c_of_long_data_in_lanes():
    # 32 KiB and more (PNGs of image summaries) run in NumPy lanes: the same CRC
    rng = np.random.default_rng(0)
    for size in (32 * 1024 - 1, 32 * 1024, 40_000 + 77):
        data = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
        assert crc32c(data) == _crc32c_bitwise(data), size


def _fit(tmp_path, **kwargs):
    tf.keras.backend.clear_session()
    tf.keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 3)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.float32)
    model = tf.keras.Sequential([tfl.Dense(1, activation="sigmoid", input_shape=(3,))])
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    board = tf.keras.callbacks.TensorBoard(log_dir=tmp_path / "logs", **kwargs)
    history = model.fit(x, y, epochs=3, batch_size=5, validation_split=0.25, verbose=0,
                        callbacks=[board])
    return model, board, history, (x, y)


def test_epoch_scalars_in_train_and_validation(tmp_path):
    model, board, history, (x, y) = _fit(tmp_path)
    train = _events(_one_file(tmp_path / "logs" / "train"))
    assert train[0][1] == "brain.Event:2"
    assert [e[0] for e in train[1:]] == [0, 1, 2]
    np.testing.assert_allclose([e[2]["epoch_loss"] for e in train[1:]],
                               history.history["loss"], rtol=1e-6)
    assert set(train[1][2]) == {"epoch_loss", "epoch_accuracy"}
    val = _events(_one_file(tmp_path / "logs" / "validation"))
    np.testing.assert_allclose([e[2]["epoch_loss"] for e in val if "epoch_loss" in e[2]],
                               history.history["val_loss"], rtol=1e-6)
    # fit's validation ends with on_test_end too, which writes Keras' evaluation scalars at
    # the optimizer's step (3 steps per epoch)
    assert [e[0] for e in val if "evaluation_loss_vs_iterations" in e[2]] == [3, 6, 9]
    model.evaluate(x, y, verbose=0, callbacks=[board])
    last = _events(_one_file(tmp_path / "logs" / "validation"))[-1]
    assert "evaluation_loss_vs_iterations" in last[2] and last[0] == 9  # 3 epochs x 3 steps


def test_batch_frequency_and_steps_per_second(tmp_path):
    _, _, _, _ = _fit(tmp_path, update_freq=2, write_steps_per_second=True)
    train = _events(_one_file(tmp_path / "logs" / "train"))
    batch_steps = [e[0] for e in train if "batch_loss" in e[2]]
    assert batch_steps == [2, 4, 6, 8]  # 3 batches per epoch, 9 in all, every 2nd
    epochs = [e for e in train if "epoch_loss" in e[2]]
    assert len(epochs) == 3 and all(e[2]["epoch_steps_per_second"] > 0 for e in epochs)


def test_refuses_features_it_does_not_have(tmp_path):
    for kwargs, name in (({"histogram_freq": -1}, "histogram_freq"),
                         ({"histogram_freq": 1.5}, "histogram_freq"),
                         ({"profile_batch": (2, 5)}, "profile_batch"),
                         ({"embeddings_freq": 1}, "embeddings_freq"),
                         ({"update_freq": 0}, "update_freq")):
        with pytest.raises(ValueError, match=name):
            tf.keras.callbacks.TensorBoard(tmp_path, **kwargs)
    tf.keras.callbacks.TensorBoard(tmp_path, histogram_freq=0, write_graph=True)


def test_weight_histograms_and_images(tmp_path):
    # Keras 3.15's tags and layout (checked by logging the same weights with both: identical
    # tags, bucket tables and pixels)
    pytest.importorskip("PIL")
    from convnp.tfevents import read_events

    tf.keras.backend.clear_session()
    model = tf.keras.Sequential([tfl.Input((5, 5, 1)), tfl.Conv2D(3, 3, name="c1"),
                                 tfl.Flatten(), tfl.Dense(2, name="d1")], name="seq")
    rng = np.random.default_rng(0)
    model.set_weights([rng.random(w.shape).astype("float32") for w in model.weights])
    weights = {w.path: w.numpy() for w in model.weights}  # seq/c1/kernel, ... (TF 2.21)
    model.compile(optimizer=tf.keras.optimizers.SGD(learning_rate=0.0), loss="mse")
    board = tf.keras.callbacks.TensorBoard(log_dir=tmp_path, histogram_freq=2,
                                           write_images=True)
    model.fit(rng.random((4, 5, 5, 1)), rng.random((4, 2)), epochs=3, batch_size=2, verbose=0,
              callbacks=[board])
    logged = {(e["step"], tag): v for e in read_events(_one_file(tmp_path / "train"))
              for tag, v in e["tensors"].items()}
    tags = {f"{name}/{kind}" for name in weights for kind in ("histogram", "image")}
    assert set(logged) == {(step, tag) for step in (0, 2) for tag in tags}
    table = logged[(2, "seq/d1/kernel/histogram")]["value"]
    kernel = weights["seq/d1/kernel"]
    assert table.shape == (30, 3) and table[:, 2].sum() == kernel.size
    assert table[0, 0] == kernel.min() and table[-1, 1] == kernel.max()
    images = logged[(0, "seq/c1/kernel/image")]["value"]  # (3, 3, 1, 3): one image per filter
    assert images[:2].tolist() == [b"3", b"3"] and len(images) == 5
    from PIL import Image

    first = np.asarray(Image.open(io.BytesIO(images[2])))
    np.testing.assert_array_equal(first, (weights["seq/c1/kernel"][:, :, 0, 0] * 255.5)
                                  .astype(np.uint8))
    column = logged[(0, "seq/d1/kernel/image")]["value"]  # (27, 2): its long side across
    assert column[:2].tolist() == [b"27", b"2"]


class _Logging(tf.keras.Model):
    """Keras's documented example: tf.summary inside a subclassed model's call."""

    def __init__(self):
        super().__init__()
        self.dense = tfl.Dense(2)

    def call(self, x):
        out = self.dense(x)
        tf.summary.histogram("outputs", out)
        return out


def _logged(path):
    from convnp.tfevents import read_events

    return [(e["step"], tag, v["value"]) for e in read_events(path)
            for tag, v in e["tensors"].items()]


def test_the_models_own_summaries_go_to_the_run(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((20, 3)).astype("float32")
    y = rng.random((20, 2)).astype("float32")
    model = _Logging()
    model.compile(optimizer="sgd", loss="mse")
    board = tf.keras.callbacks.TensorBoard(tmp_path / "a", update_freq=2)
    model.fit(x, y, epochs=2, batch_size=5, validation_split=0.25, verbose=0, callbacks=[board])
    train = _logged(_one_file(tmp_path / "a" / "train"))
    assert [(step, tag) for step, tag, _ in train] == [(s, "outputs") for s in (2, 4, 6)]
    assert all(table[:, 2].sum() == 10 for _, _, table in train)  # 5 examples x 2 outputs
    val = _logged(_one_file(tmp_path / "a" / "validation"))  # test batches 1, 2: 2 recorded
    assert [(step, tag) for step, tag, _ in val] == [(2, "outputs")]
    assert not tf.summary.scalar("after", 1.0, step=0)  # no default writer left behind

    def my_summary(t):
        tf.summary.histogram("x", t)
        return t

    inputs = tf.keras.Input((3,))
    functional = tf.keras.Model(inputs, tfl.Lambda(my_summary)(tfl.Dense(2)(inputs)))
    functional.compile(optimizer="sgd", loss="mse")
    functional.fit(x, y, epochs=1, batch_size=10, verbose=0,
                   callbacks=[tf.keras.callbacks.TensorBoard(tmp_path / "b", update_freq=1)])
    assert [(s, t) for s, t, _ in _logged(_one_file(tmp_path / "b" / "train"))] == \
        [(1, "x"), (2, "x")]
    epoch_only = tf.keras.callbacks.TensorBoard(tmp_path / "c")  # update_freq="epoch"
    model.fit(x, y, epochs=1, batch_size=10, verbose=0, callbacks=[epoch_only])
    assert _logged(_one_file(tmp_path / "c" / "train")) == []


def test_tensorboard_package_reads_the_files(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing import event_accumulator

    _, _, history, _ = _fit(tmp_path)
    acc = event_accumulator.EventAccumulator(str(tmp_path / "logs" / "train"))
    acc.Reload()
    loss = [s.value for s in acc.Scalars("epoch_loss")]
    np.testing.assert_allclose(loss, history.history["loss"], rtol=1e-6)
