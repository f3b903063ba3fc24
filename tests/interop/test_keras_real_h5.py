"""Opt-in: legacy ``.h5`` files written by convnp (``model.save("m.h5")``, ``save_weights
("w.h5")``) load in real Keras 3 and predict like convnp, compiled, with the optimizer's step
count.

Runs only when ``CONVNP_KERAS_PYTHON`` names a Python with Keras 3 (see test_keras_real.py)::

    CONVNP_KERAS_PYTHON=/work/tfvenv/bin/python pytest tests/interop/test_keras_real_h5.py

(Keras 3.15 itself cannot go on training a compiled model it loads from a legacy ``.h5`` file
with optimizer weights, its own files included: its optimizer is rebuilt for other variables.
So the Keras side checks predictions, compile state and the restored step count only.)
"""

from __future__ import annotations

import os
import subprocess
import textwrap

import numpy as np
import pytest

pytest.importorskip("h5py")

import convnp as tf
from tests.io.test_legacy_h5 import _data, _fit, _functional, _sequential

KERAS_PYTHON = os.environ.get("CONVNP_KERAS_PYTHON")

pytestmark = pytest.mark.skipif(not KERAS_PYTHON,
                                reason="set CONVNP_KERAS_PYTHON to a Python with Keras 3")

# Run by the Keras interpreter: load the model file, compare predictions, compile state and
# step count; then load the weights-only file (other weights) and compare again.
KERAS_SIDE = textwrap.dedent("""
    import os, sys
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    import numpy as np, keras
    model_path, weights_path, expected = sys.argv[1:4]
    z = np.load(expected, allow_pickle=False)
    model = keras.models.load_model(model_path)
    worst = float(np.max(np.abs(model.predict(z["x"], verbose=0) - z["pred"])))
    compiled = bool(getattr(model, "compiled", False))
    steps = int(model.optimizer.iterations.numpy()) if compiled else -1
    model.load_weights(weights_path)
    worst = max(worst, float(np.max(np.abs(model.predict(z["x"], verbose=0) - z["pred2"]))))
    print("max abs diff", worst, "compiled", compiled, "steps", steps,
          "optimizer", type(model.optimizer).__name__ if compiled else None)
    ok = worst <= 1e-5 and compiled and steps == int(z["steps"])
    sys.exit(0 if ok else 1)
""")


@pytest.mark.parametrize("kind", ["functional", "sequential"])
def test_convnp_h5_model_and_weights_load_in_keras(kind, tmp_path):
    model = _functional() if kind == "functional" else _sequential()
    x, labels = _data()
    y = np.eye(3, dtype="float32")[labels] if kind == "functional" else labels
    _fit(model, x, y, seed=1)
    model.save(tmp_path / "m.h5")
    pred = model.predict(x, verbose=0)
    steps = int(model.optimizer.get_state()["iterations"])
    _fit(model, x, y, seed=2)  # other weights for the weights-only file
    model.save_weights(tmp_path / "w.h5")
    np.savez(tmp_path / "expected.npz", x=x, pred=pred, pred2=model.predict(x, verbose=0),
             steps=np.array(steps))
    script = tmp_path / "keras_side.py"
    script.write_text(KERAS_SIDE)
    result = subprocess.run([KERAS_PYTHON, str(script), str(tmp_path / "m.h5"),
                             str(tmp_path / "w.h5"), str(tmp_path / "expected.npz")],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert tf.keras.models.load_model(tmp_path / "m.h5")._compiled
