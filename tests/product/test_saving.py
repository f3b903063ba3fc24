"""`.convnp` model files and `.weights.npz` files: exact round trips, resumable training,
tampered files refused without running anything, atomic writes."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

import convnp
from convnp import saving, zoo
from convnp.random import generator, set_seed

N = 24  # small batches keep these tests fast; the models are the full spec models


def _data(name: str, n: int = N, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 64, 64, 3), dtype=np.float32)
    if name == "happy":
        y = (rng.random((n, 1)) > 0.5).astype(np.float32)
    else:
        y = np.eye(6, dtype=np.float32)[rng.integers(0, 6, n)]
    return x, y


def _trained(name: str, epochs: int = 1):
    set_seed(0)
    model = zoo.build(name)
    x, y = _data(name)
    model.fit(x, y, epochs=epochs, batch_size=8, verbose=0)
    return model, x, y


@pytest.fixture(scope="module")
def happy_file(tmp_path_factory) -> Path:
    model, _, _ = _trained("happy")
    path = tmp_path_factory.mktemp("saved") / "happy.convnp"
    saving.save_model(model, path, metadata={"class_names": ["not smiling", "smiling"]})
    return path


# -- round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["happy", "signs"])
def test_round_trip_predicts_bitwise_identically(tmp_path, name):
    model, x, y = _trained(name)
    path = tmp_path / f"{name}.convnp"
    assert saving.save_model(model, path) == path
    loaded = saving.load_model(path)
    assert type(loaded) is type(model)
    assert [type(a).__name__ for a in loaded.layers] == [type(a).__name__ for a in model.layers]
    assert [lay.name for lay in loaded.layers] == [lay.name for lay in model.layers]
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    p1 = model.predict(x, verbose=0)
    p2 = loaded.predict(x, verbose=0)
    assert p1.tobytes() == p2.tobytes()
    # compile settings come back: evaluate gives the same numbers
    assert loaded.metrics_names == model.metrics_names
    assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)
    assert loaded.optimizer.iterations == model.optimizer.iterations
    assert loaded.count_params() == model.count_params()


def test_keras_namespace_load_model_forwards(happy_file):
    model = convnp.keras.models.load_model(happy_file)
    assert model.count_params() == 37633
    assert model.metadata == {"class_names": ["not smiling", "smiling"]}
    assert saving.read_metadata(happy_file) == {"class_names": ["not smiling", "smiling"]}


def test_archive_layout(happy_file):
    with zipfile.ZipFile(happy_file) as archive:
        assert sorted(archive.namelist()) == ["config.json", "optimizer.npz", "weights.npz"]
        config = json.loads(archive.read("config.json"))
        weights = np.load(io.BytesIO(archive.read("weights.npz")), allow_pickle=False)
        assert config["format"] == "convnp" and config["format_version"] == 1
        assert config["model"]["class_name"] == "Sequential"
        assert config["compile"]["loss"] == "binary_crossentropy"
        assert config["compile"]["metrics"] == ["accuracy"]
        assert config["compile"]["optimizer"]["class_name"] == "Adam"
        keys = [w["key"] for w in config["weights"]]
        assert re.fullmatch(r"0000/conv2d(_\d+)?/kernel", keys[0])
        assert [w["name"] for w in config["weights"]] == [
            "kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance", "kernel", "bias"]
        assert sorted(weights.files) == sorted(keys)


def test_uncompiled_model_round_trip(tmp_path):
    set_seed(1)
    model = zoo.signs_model()
    path = saving.save_model(model, tmp_path / "raw.convnp")
    with zipfile.ZipFile(path) as archive:
        assert "optimizer.npz" not in archive.namelist()
    loaded = saving.load_model(path)
    x, _ = _data("signs", 4)
    assert np.array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))
    assert not getattr(loaded, "_compiled", False)


def test_load_without_compile(happy_file):
    model = saving.load_model(happy_file, compile=False)
    assert not getattr(model, "_compiled", False)


# -- resuming training --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["happy", "signs"])
def test_fit_resumes_with_the_saved_optimizer_state(tmp_path, name):
    x, y = _data(name)
    set_seed(7)
    straight = zoo.build(name)
    straight.fit(x, y, epochs=2, batch_size=8, verbose=0)

    def resumed(include_optimizer: bool):
        set_seed(7)
        model = zoo.build(name)
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
        path = tmp_path / f"{name}_{include_optimizer}.convnp"
        saving.save_model(model, path, include_optimizer=include_optimizer)
        # building the loaded model draws initial weights from the global generator; put
        # it back where the uninterrupted run is, so both runs shuffle epoch 2 the same way
        rng_state = generator().bit_generator.state
        loaded = saving.load_model(path)
        generator().bit_generator.state = rng_state
        loaded.fit(x, y, epochs=2, initial_epoch=1, batch_size=8, verbose=0)
        return loaded

    loaded = resumed(include_optimizer=True)
    assert loaded.optimizer.iterations == straight.optimizer.iterations
    for a, b in zip(straight.get_weights(), loaded.get_weights()):
        assert np.array_equal(a, b)
    # control: without the Adam moments and step count, the second epoch goes elsewhere
    fresh = resumed(include_optimizer=False)
    assert any(not np.array_equal(a, b)
               for a, b in zip(straight.get_weights(), fresh.get_weights()))


# -- tampered and broken files ----------------------------------------------------------------


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _write(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _with_config(src: Path, dst: Path, edit) -> Path:
    members = _members(src)
    config = json.loads(members["config.json"])
    edit(config)
    members["config.json"] = json.dumps(config).encode()
    return _write(dst, members)


def _with_weights(src: Path, dst: Path, edit) -> Path:
    members = _members(src)
    arrays = dict(np.load(io.BytesIO(members["weights.npz"]), allow_pickle=False))
    edit(arrays)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    members["weights.npz"] = buffer.getvalue()
    return _write(dst, members)


def _first_key(arrays: dict) -> str:
    return min(arrays)


def test_bad_json_is_refused(happy_file, tmp_path):
    members = _members(happy_file)
    members["config.json"] = b'{"format": "convnp", "format_version": 1, "model": '
    with pytest.raises(ValueError, match="not valid JSON"):
        saving.load_model(_write(tmp_path / "bad.convnp", members))


def test_unknown_layer_class_is_refused(happy_file, tmp_path):
    def edit(config):
        config["model"]["config"]["layers"][1]["class_name"] = "os.system"

    path = _with_config(happy_file, tmp_path / "evil.convnp", edit)
    with pytest.raises(ValueError, match="os.system"):
        saving.load_model(path)


def test_unknown_format_version_is_refused(happy_file, tmp_path):
    path = _with_config(happy_file, tmp_path / "v9.convnp",
                        lambda c: c.update(format_version=9))
    with pytest.raises(ValueError, match="format version 9"):
        saving.load_model(path)


def test_wrong_format_name_is_refused(happy_file, tmp_path):
    path = _with_config(happy_file, tmp_path / "other.convnp", lambda c: c.update(format="x"))
    with pytest.raises(ValueError, match="not a convnp model file"):
        saving.load_model(path)


def test_wrong_weight_shape_is_refused(happy_file, tmp_path):
    def edit(arrays):
        key = _first_key(arrays)
        arrays[key] = arrays[key][..., :-1]

    path = _with_weights(happy_file, tmp_path / "shape.convnp", edit)
    with pytest.raises(ValueError, match="shape"):
        saving.load_model(path)


def test_wrong_weight_dtype_is_refused(happy_file, tmp_path):
    def edit(arrays):
        key = _first_key(arrays)
        arrays[key] = arrays[key].astype(np.float64)

    path = _with_weights(happy_file, tmp_path / "dtype.convnp", edit)
    with pytest.raises(ValueError, match="float64"):
        saving.load_model(path)


def test_missing_weight_is_refused(happy_file, tmp_path):
    path = _with_weights(happy_file, tmp_path / "few.convnp",
                         lambda arrays: arrays.pop(_first_key(arrays)))
    with pytest.raises(ValueError, match="missing weights"):
        saving.load_model(path)


UNPICKLED: list[str] = []


def _record_unpickling():
    UNPICKLED.append("ran")
    return "boom"


class _Payload:
    """Unpickling this object calls `_record_unpickling` (a stand-in for arbitrary code)."""

    def __reduce__(self):
        return (_record_unpickling, ())


def test_object_array_member_is_refused_without_unpickling(happy_file, tmp_path):
    members = _members(happy_file)
    arrays = np.load(io.BytesIO(members["weights.npz"]), allow_pickle=False)
    key = _first_key(dict(arrays))
    evil = np.empty(1, dtype=object)
    evil[0] = _Payload()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as npz:
        for name in arrays.files:
            item = io.BytesIO()
            if name == key:
                np.save(item, evil, allow_pickle=True)  # the crafted, pickled member
            else:
                np.save(item, arrays[name])
            npz.writestr(name + ".npy", item.getvalue())
    members["weights.npz"] = buffer.getvalue()
    path = _write(tmp_path / "pickled.convnp", members)
    UNPICKLED.clear()
    with pytest.raises(ValueError, match=key) as info:
        saving.load_model(path)
    assert "pickle" in str(info.value)
    assert UNPICKLED == []


def test_oversized_compressed_weights_are_refused(happy_file, tmp_path):
    members = _members(happy_file)
    arrays = dict(np.load(io.BytesIO(members["weights.npz"]), allow_pickle=False))
    arrays["padding"] = np.zeros((4096, 1024), np.float32)  # 16 MB that compresses to ~16 KB
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    members["weights.npz"] = buffer.getvalue()
    with pytest.raises(ValueError, match="would expand"):
        saving.load_model(_write(tmp_path / "bomb.convnp", members))


def test_deeply_nested_json_is_refused(happy_file, tmp_path):
    members = _members(happy_file)
    members["config.json"] = b"[" * 100000 + b"]" * 100000
    with pytest.raises(ValueError, match="JSON"):
        saving.load_model(_write(tmp_path / "deep.convnp", members))


def test_bad_declared_shape_is_refused(happy_file, tmp_path):
    def edit(config):
        config["weights"][0]["shape"] = [-1, 3]

    with pytest.raises(ValueError, match="invalid shape"):
        saving.load_model(_with_config(happy_file, tmp_path / "neg.convnp", edit))


def test_truncated_file_is_refused(happy_file, tmp_path):
    data = happy_file.read_bytes()
    path = tmp_path / "cut.convnp"
    for size in (len(data) // 2, 100, 0):
        path.write_bytes(data[:size])
        with pytest.raises(ValueError, match="not a convnp model file|truncated|corrupt"):
            saving.load_model(path)


def test_corrupt_member_is_refused(happy_file, tmp_path):
    data = bytearray(happy_file.read_bytes())
    # flip bytes in the middle of the stored weights: the zip CRC check must catch it
    middle = len(data) // 2
    data[middle:middle + 16] = bytes(16)
    path = tmp_path / "flipped.convnp"
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError):
        saving.load_model(path)


def test_not_a_zip_is_refused(tmp_path):
    path = tmp_path / "text.convnp"
    path.write_text("hello")
    with pytest.raises(ValueError, match="not a convnp model file"):
        saving.load_model(path)


@pytest.mark.parametrize("member", ["config.json", "weights.npz", "optimizer.npz"])
def test_missing_member_is_refused(happy_file, tmp_path, member):
    members = _members(happy_file)
    del members[member]
    with pytest.raises(ValueError, match=member):
        saving.load_model(_write(tmp_path / "missing.convnp", members))


def test_bad_optimizer_state_is_refused(happy_file, tmp_path):
    members = _members(happy_file)
    state = dict(np.load(io.BytesIO(members["optimizer.npz"]), allow_pickle=False))
    key = min(k for k in state if k != "iterations")
    state[key] = np.zeros((3,), dtype=np.float32)
    buffer = io.BytesIO()
    np.savez(buffer, **state)
    members["optimizer.npz"] = buffer.getvalue()
    with pytest.raises(ValueError, match="optimizer"):
        saving.load_model(_write(tmp_path / "opt.convnp", members))


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        saving.load_model(tmp_path / "nope.convnp")


# -- atomic writes ----------------------------------------------------------------------------


def test_failed_save_leaves_nothing(tmp_path, monkeypatch):
    model, _, _ = _trained("signs")

    def broken(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError, match="simulated"):
        saving.save_model(model, tmp_path / "model.convnp")
    with pytest.raises(OSError, match="simulated"):
        saving.save_weights(model, tmp_path / "model.weights.npz")
    assert list(tmp_path.iterdir()) == []


def test_failed_overwrite_keeps_the_old_file(tmp_path, monkeypatch):
    model, _, _ = _trained("signs")
    path = saving.save_model(model, tmp_path / "model.convnp")
    before = path.read_bytes()
    monkeypatch.setattr(np, "savez", lambda *a, **k: (_ for _ in ()).throw(OSError("fail")))
    with pytest.raises(OSError):
        saving.save_model(model, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.convnp"]


def test_overwrite_false(tmp_path):
    model, _, _ = _trained("signs")
    path = saving.save_model(model, tmp_path / "m.convnp")
    with pytest.raises(FileExistsError):
        saving.save_model(model, path, overwrite=False)


def test_missing_directory(tmp_path):
    model, _, _ = _trained("signs")
    with pytest.raises(FileNotFoundError):
        saving.save_model(model, tmp_path / "no" / "such" / "m.convnp")


def test_unbuilt_model_cannot_be_saved(tmp_path):
    model = convnp.keras.Sequential([convnp.keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="not built"):
        saving.save_model(model, tmp_path / "m.convnp")
    assert list(tmp_path.iterdir()) == []


# -- weights files ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["happy", "signs"])
def test_weights_npz_round_trip(tmp_path, name):
    model, x, _ = _trained(name)
    path = saving.save_weights(model, tmp_path / f"{name}.weights.npz")
    assert path.name == f"{name}.weights.npz"
    other = zoo.build(name)  # new layer names (conv2d_1 ...): matching is by position
    saving.load_weights(other, path)
    assert model.predict(x, verbose=0).tobytes() == other.predict(x, verbose=0).tobytes()


def test_weights_from_another_architecture_are_refused(tmp_path):
    model, _, _ = _trained("happy")
    path = saving.save_weights(model, tmp_path / "happy.weights.npz")
    signs = zoo.build("signs")
    before = signs.get_weights()
    with pytest.raises(ValueError):
        saving.load_weights(signs, path)
    assert all(np.array_equal(a, b) for a, b in zip(before, signs.get_weights()))


def test_weights_with_wrong_shape_are_refused(tmp_path):
    model, _, _ = _trained("signs")
    arrays = {k: v for k, v in np.load(saving.save_weights(model, tmp_path / "s.weights.npz"),
                                       allow_pickle=False).items()}
    key = min(arrays)
    arrays[key] = np.zeros((1, 2), np.float32)
    bad = tmp_path / "bad.weights.npz"
    np.savez(bad, **arrays)
    with pytest.raises(ValueError, match="shape"):
        saving.load_weights(zoo.build("signs"), bad)


def test_weights_with_foreign_keys_are_refused(tmp_path):
    bad = tmp_path / "foreign.weights.npz"
    np.savez(bad, a=np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="unexpected key"):
        saving.load_weights(zoo.build("signs"), bad)


def test_weights_unsupported_extension(tmp_path):
    with pytest.raises(ValueError, match="unsupported weights file"):
        saving.save_weights(zoo.build("signs"), tmp_path / "w.bin")
    assert list(tmp_path.iterdir()) == []


# -- Keras files (dispatched to convnp.interop.keras_format) ------------------------------------


@pytest.mark.parametrize("name", ["happy", "signs"])
def test_keras_extensions_dispatch_to_interop(tmp_path, name):
    pytest.importorskip("h5py")
    model, x, _ = _trained(name)
    saving.save_model(model, tmp_path / "m.keras")
    loaded = saving.load_model(tmp_path / "m.keras")
    assert np.array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))
    saving.save_weights(model, tmp_path / "m.weights.h5")
    other = zoo.build(name)
    # compiled, never stepped: as TF 2.21, the file's optimizer state is skipped, warned
    with pytest.warns(UserWarning, match="Skipping variable loading for optimizer"):
        saving.load_weights(other, tmp_path / "m.weights.h5")
    assert np.array_equal(model.predict(x, verbose=0), other.predict(x, verbose=0))


def test_damaged_legacy_h5_model_file_is_a_value_error(tmp_path):
    path = tmp_path / "old.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n")
    with pytest.raises(ValueError, match="old.h5.*not a readable HDF5 file"):
        saving.load_model(path)
