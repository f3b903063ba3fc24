"""Opt-in: files written by convnp load in real Keras 3 and predict like convnp.

TensorFlow is not a convnp dependency, so this runs only when ``CONVNP_KERAS_PYTHON`` names a
Python interpreter that has Keras 3 (for example a TensorFlow virtualenv)::

    CONVNP_KERAS_PYTHON=/work/tfvenv/bin/python pytest tests/interop/test_keras_real.py

Each check starts that interpreter once (TensorFlow takes several seconds to import).
"""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("h5py")

from convnp.interop import keras_format as kf
from tests.interop import models
from tests.interop.models import branchy_model, randomize

KERAS_PYTHON = os.environ.get("CONVNP_KERAS_PYTHON")
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CHECK_SCRIPT = FIXTURES / "check_convnp_keras_file.py"

pytestmark = pytest.mark.skipif(not KERAS_PYTHON,
                                reason="set CONVNP_KERAS_PYTHON to a Python with Keras 3")

# Run by the Keras interpreter: load the .keras file, compare with convnp's predictions, then
# load the convnp-written .weights.h5 (different weights) into it and compare again.
KERAS_SIDE = textwrap.dedent("""
    import os, sys
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    import numpy as np, keras
    model_path, expect1, weights_path, expect2 = sys.argv[1:5]
    model = keras.models.load_model(model_path, safe_mode=True)
    worst = 0.0
    for path in (expect1, expect2):
        if path == expect2:
            model.load_weights(weights_path)
        with np.load(path, allow_pickle=False) as z:
            pred = model.predict(z["x"], verbose=0)
            worst = max(worst, float(np.max(np.abs(pred - z["pred"]))))
    print("max abs diff", worst)
    sys.exit(0 if worst <= 1e-5 else 1)
""")


def _run(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([KERAS_PYTHON, *args], capture_output=True, text=True, timeout=300,
                          check=False)


def test_fixture_rewritten_by_convnp_loads_in_keras(tmp_path):
    model = kf.load_keras(FIXTURES / "zoo.keras")
    out = tmp_path / "zoo_convnp.keras"
    kf.save_keras(model, out)
    result = _run([str(CHECK_SCRIPT), str(out), "--expect", str(FIXTURES / "zoo_expected.npz")])
    assert result.returncode == 0, result.stdout + result.stderr


def test_convnp_built_model_and_weights_load_in_keras(tmp_path):
    model = branchy_model()
    x = np.random.default_rng(2).standard_normal((3, 10, 9, 3)).astype(np.float32)
    kf.save_keras(model, tmp_path / "b.keras")
    np.savez(tmp_path / "e1.npz", x=x, pred=model.predict(x, verbose=0))
    randomize(model, seed=5)
    kf.save_keras_weights(model, tmp_path / "b.weights.h5")
    np.savez(tmp_path / "e2.npz", x=x, pred=model.predict(x, verbose=0))
    script = tmp_path / "keras_side.py"
    script.write_text(KERAS_SIDE)
    result = _run([str(script), str(tmp_path / "b.keras"), str(tmp_path / "e1.npz"),
                   str(tmp_path / "b.weights.h5"), str(tmp_path / "e2.npz")])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("build", ["happy_model", "signs_model"])
def test_course_models_built_in_convnp_load_in_keras(build, tmp_path):
    model = getattr(models, build)()
    models.randomize(model, seed=3)
    x = np.random.default_rng(4).random((4, 64, 64, 3), dtype=np.float32)
    kf.save_keras(model, tmp_path / "course.keras")
    np.savez(tmp_path / "course_expected.npz", x=x, pred=model.predict(x, verbose=0))
    result = _run([str(CHECK_SCRIPT), str(tmp_path / "course.keras")])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "-> OK" in result.stdout


@pytest.mark.parametrize("which", ["fixture", "sequence", "image"])
def test_conv_family_written_by_convnp_loads_in_keras(which, tmp_path):
    # grouped Conv1D/Conv2D, Conv1DTranspose, DepthwiseConv1D, SeparableConv1D
    from tests.layers import test_conv_family as family

    if which == "fixture":
        model = kf.load_keras(FIXTURES / "conv_family.keras")
        x = np.load(FIXTURES / "conv_family_expected.npz")["x"]
    else:
        model = family._sequence_model() if which == "sequence" else family._image_model()
        models.randomize(model, seed=3)
        shape = (3, 12, 4) if which == "sequence" else (3, 8, 8, 4)
        x = np.random.default_rng(4).standard_normal(shape).astype(np.float32)
    kf.save_keras(model, tmp_path / "family.keras")
    np.savez(tmp_path / "family_expected.npz", x=x, pred=model.predict(x, verbose=0))
    result = _run([str(CHECK_SCRIPT), str(tmp_path / "family.keras")])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "-> OK" in result.stdout


@pytest.mark.parametrize("which", ["fixture", "every_layer"])
def test_three_d_written_by_convnp_loads_in_keras(which, tmp_path):
    # Conv3D, Conv3DTranspose, the 3-D poolings, UpSampling3D, ZeroPadding3D, Cropping3D,
    # SpatialDropout3D
    from tests.layers import test_three_d as three_d

    if which == "fixture":
        model = kf.load_keras(FIXTURES / "three_d.keras")
        x = np.load(FIXTURES / "three_d_expected.npz")["x"]
    else:
        model = three_d._every_layer_model()
        models.randomize(model, seed=3)
        x = np.random.default_rng(4).standard_normal((2, 4, 6, 6, 2)).astype(np.float32)
    kf.save_keras(model, tmp_path / "three_d.keras")
    np.savez(tmp_path / "three_d_expected.npz", x=x, pred=model.predict(x, verbose=0))
    result = _run([str(CHECK_SCRIPT), str(tmp_path / "three_d.keras")])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "-> OK" in result.stdout


# The same user classes on both sides (the convnp side is tests/io/test_keras_compile_state).
USER_CLASSES_SIDE = textwrap.dedent("""
    import os, sys
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np, keras
    from keras import ops

    class _Scaled(keras.losses.Loss):
        def __init__(self, temperature=0.5, name="scaled", **kwargs):
            super().__init__(name=name, **kwargs)
            self.temperature = temperature
        def call(self, y_true, y_pred):
            return ops.mean(ops.square(y_true - y_pred), axis=-1) / self.temperature
        def get_config(self):
            return {**super().get_config(), "temperature": self.temperature}

    class _Total(keras.metrics.Metric):
        def __init__(self, name="total", **kwargs):
            super().__init__(name=name, **kwargs)
            self.sum = self.add_weight(name="sum", initializer="zeros")
        def update_state(self, y_true, y_pred, sample_weight=None):
            self.sum.assign_add(ops.sum(y_pred))
        def result(self):
            return self.sum

    class _Centralized(keras.optimizers.RMSprop):
        pass

    model_path, expect = sys.argv[1:3]
    model = keras.models.load_model(model_path, custom_objects={
        "_Scaled": _Scaled, "_Total": _Total, "_Centralized": _Centralized})
    assert type(model.loss) is _Scaled and model.loss.temperature == 0.25, model.loss
    assert type(model.optimizer) is _Centralized, model.optimizer
    with np.load(expect) as z:
        got = model.evaluate(z["x"], z["y"], verbose=0, return_dict=True)["loss"]
        print("loss", got, "convnp", float(z["loss"]))
        sys.exit(0 if abs(got - float(z["loss"])) <= 1e-5 else 1)
""")


def test_users_loss_metric_and_optimizer_classes_load_in_keras(tmp_path):
    import convnp as tf
    from tests.io.test_keras_compile_state import _Centralized, _Scaled, _Total

    rng = np.random.default_rng(1)
    x, y = rng.random((8, 4)).astype(np.float32), rng.random((8, 2)).astype(np.float32)
    model = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(2)])
    model.compile(_Centralized(0.01), loss=_Scaled(0.25), metrics=[_Total()])
    model.fit(x, y, verbose=0)
    model.save(tmp_path / "users.keras")
    np.savez(tmp_path / "expect.npz", x=x, y=y, loss=model.evaluate(x, y, verbose=0)[0])
    script = tmp_path / "keras_side.py"
    script.write_text(USER_CLASSES_SIDE)
    result = _run([str(script), str(tmp_path / "users.keras"), str(tmp_path / "expect.npz")])
    assert result.returncode == 0, result.stdout + result.stderr


# The fixture's user layer on the Keras side (tests/fixtures/make_multi_output.py).
MULTI_OUTPUT_SIDE = textwrap.dedent("""
    import os, sys
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np, keras

    class Pair(keras.layers.Layer):
        def build(self, input_shape):
            self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones",
                                         name="scale")
        def call(self, x):
            return x * self.scale, keras.ops.mean(x, axis=-1, keepdims=True)

    class AttentionGate(keras.layers.Layer):
        def __init__(self, channels, **kwargs):
            super().__init__(**kwargs)
            self.channels = channels
            self.on_x = keras.layers.Conv2D(channels, 1)
            self.on_g = keras.layers.Conv2D(channels, 1)
            self.psi = keras.layers.Conv2D(1, 1)
        def call(self, x, g, scale=1.0, training=None):
            joined = keras.ops.relu(self.on_x(x) + self.on_g(g))
            return x * keras.ops.sigmoid(self.psi(joined)) * scale
        def get_config(self):
            return {**super().get_config(), "channels": self.channels}

    worst = 0.0
    for model_path, expect in zip(sys.argv[1::2], sys.argv[2::2]):
        model = keras.models.load_model(model_path, custom_objects={
            "Pair": Pair, "AttentionGate": AttentionGate})
        with np.load(expect) as z:
            inputs = [z[f"in{i}"] for i in range(len([k for k in z.files if k[:2] == "in"]))]
            got = keras.tree.flatten(model.predict(inputs, verbose=0))
            for i, array in enumerate(got):
                worst = max(worst, float(np.max(np.abs(array - z[f"out{i}"]))))
    print("max abs diff", worst)
    sys.exit(0 if worst <= 1e-5 else 1)
""")


def test_calls_with_several_outputs_written_by_convnp_load_in_keras(tmp_path):
    """A nested model with two outputs, a user layer returning a tuple, a split, outputs
    nested in lists, and a user layer called with two tensors and an option: convnp's .keras
    and legacy .h5 files predict the same in Keras."""
    from tests.keras_user.test_call_arguments import gate_data, gated_model
    from tests.models.test_multi_output_calls import mixed_model

    model = mixed_model()
    head, second, left = model.outputs
    nested = type(model)(model.inputs[0], [[head, second], left])
    x = np.random.default_rng(3).random((3, 8, 8, 3)).astype(np.float32)
    args = []
    for name, which, inputs in (("mixed", model, [x]), ("nested", nested, [x]),
                                ("gated", gated_model(), gate_data())):
        for suffix in ("keras", "h5"):
            which.save(tmp_path / f"{name}.{suffix}")
            out = which.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
            flat = [np.asarray(a) for group in (out if isinstance(out, list) else [out])
                    for a in (group if isinstance(group, list) else [group])]
            np.savez(tmp_path / f"{name}.npz", **{f"in{i}": a for i, a in enumerate(inputs)},
                     **{f"out{i}": a for i, a in enumerate(flat)})
            args += [str(tmp_path / f"{name}.{suffix}"), str(tmp_path / f"{name}.npz")]
    script = tmp_path / "keras_side.py"
    script.write_text(MULTI_OUTPUT_SIDE)
    result = _run([str(script), *args])
    assert result.returncode == 0, result.stdout + result.stderr
