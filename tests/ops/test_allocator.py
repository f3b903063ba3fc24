"""Importing convnp changes no allocator setting; fit/evaluate/predict tune malloc once."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _run(code: str, env_off: bool = False) -> str:
    import os

    env = dict(os.environ)
    env.pop("CONVNP_MALLOC_TUNING", None)
    if env_off:
        env["CONVNP_MALLOC_TUNING"] = "0"
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                         capture_output=True, text=True, timeout=120, check=True)
    return out.stdout.strip()


PROBE = """
    import sys
    import numpy as np
    import convnp as tf
    print("after import:", "convnp.ops._allocator" in sys.modules)
    model = tf.keras.Sequential([tf.keras.layers.Dense(1, input_shape=(2,))])
    model.predict(np.zeros((1, 2), np.float32), verbose=0)
    from convnp.ops import _allocator
    print("after predict:", _allocator._tuned)
"""


def test_import_tunes_nothing_and_predict_tunes_once():
    lines = _run(PROBE).splitlines()
    assert lines[0] == "after import: False"
    assert lines[1] in ("after predict: True", "after predict: False")  # False off glibc
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None).mallopt  # noqa: B018
        except AttributeError:
            return
        assert lines[1] == "after predict: True"


def test_environment_variable_switches_it_off():
    lines = _run(PROBE, env_off=True).splitlines()
    assert lines == ["after import: False", "after predict: False"]


TAPE_PROBE = """
    import sys
    import convnp as tf
    x = tf.Variable([1.0, 2.0])
    y = tf.reduce_sum(x * x)  # eager ops alone leave malloc alone
    print("after an op:", "convnp.ops._allocator" in sys.modules and
          sys.modules["convnp.ops._allocator"]._tuned is not None)
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(x * x)
    from convnp.ops import _allocator
    print("after a tape:", _allocator._tuned)
"""


def test_a_gradient_tape_tunes_as_fit_does():
    """A custom training loop (its steps on a GradientTape) gets the same one-time tuning."""
    lines = _run(TAPE_PROBE).splitlines()
    assert lines[0] == "after an op: False"
    if sys.platform.startswith("linux"):
        assert lines[1] in ("after a tape: True", "after a tape: False")  # False off glibc
    assert _run(TAPE_PROBE, env_off=True).splitlines()[1] == "after a tape: False"
