"""``python -m convnp.bench tape``: the cost of a GradientTape training step next to fit's.

On the course's happyModel (64x64x3 images, batch 16 as in the course's fit), one step of:

* ``fit``: the model's own step (forward, fused loss gradient, hand-written backward, Adam);
* ``tape``: keras.io's custom loop: ``model(x, training=True)`` and the loss under a
  `GradientTape`, ``tape.gradient``, ``optimizer.apply_gradients``. The model call is one
  tape record whose VJP is the same graph backward, so the difference is the tape's
  bookkeeping plus the unfused loss gradient;
* ``tape_ops``: the same model written as a subclassed Model whose dense head is tensor ops
  (``tf.matmul`` + bias + sigmoid), so part of the step goes op by op through the tape.

The three are timed in ``rounds`` interleaved rounds (the machine's load changes); each
number is the median over rounds of the per-round median, in wall time and in CPU time of the
process (all threads; steadier on a shared machine). Prints one JSON line: seconds per
step of each, and the ratios to ``fit``.
"""

from __future__ import annotations

import statistics

import numpy as np

from convnp.bench.common import emit, interleaved_times, machine_info


def _data(batch: int, size: int):
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(batch, size, size, 3)).astype(np.float32)
    y = rng.integers(0, 2, size=(batch, 1)).astype(np.float32)
    return x, y


def step_times(repeat: int, batch: int = 16, size: int = 64, rounds: int = 3) -> dict:
    """Median seconds per training step for fit, the tape loop and the tape-ops model."""
    import convnp as tf
    from convnp.app import zoo

    x, y = _data(batch, size)
    tf.keras.utils.set_random_seed(0)
    fit_model = zoo.happy_model((size, size, 3))
    fit_model.compile("adam", "binary_crossentropy")
    fused, variables = fit_model._prepare_training()

    def fit_step():
        fit_model._train_step([x], y, fused, variables)

    tf.keras.utils.set_random_seed(0)
    model = zoo.happy_model((size, size, 3))
    optimizer = tf.keras.optimizers.Adam()
    loss_fn = tf.keras.losses.BinaryCrossentropy()

    def tape_step():
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))


    tf.keras.utils.set_random_seed(0)
    base = zoo.happy_model((size, size, 3))
    features = tf.keras.Model(base.inputs, base.layers[-2].output)  # up to Flatten
    w = tf.Variable(np.random.default_rng(1).normal(
        scale=0.01, size=(features.output_shape[-1], 1)).astype(np.float32))
    b = tf.Variable(np.zeros(1, dtype=np.float32))
    optimizer2 = tf.keras.optimizers.Adam()
    variables2 = features.trainable_variables + [w, b]

    def ops_step():
        with tf.GradientTape() as tape:
            p = tf.sigmoid(tf.matmul(features(x, training=True), w) + b)
            loss = loss_fn(y, p)
        grads = tape.gradient(loss, variables2)
        optimizer2.apply_gradients(zip(grads, variables2))

    steps = {"fit": fit_step, "tape": tape_step, "tape_ops": ops_step}
    wall, cpu = interleaved_times(steps, rounds, repeat)
    w = {name: statistics.median(values) for name, values in wall.items()}
    c = {name: statistics.median(values) for name, values in cpu.items()}
    return {"model": "happy", "batch": batch, "image": size, "rounds": rounds,
            "fit_step_s": w["fit"], "tape_step_s": w["tape"], "tape_ops_step_s": w["tape_ops"],
            "tape_over_fit": w["tape"] / w["fit"], "tape_ops_over_fit": w["tape_ops"] / w["fit"],
            "fit_step_cpu_s": c["fit"], "tape_step_cpu_s": c["tape"],
            "tape_ops_step_cpu_s": c["tape_ops"],
            "tape_over_fit_cpu": c["tape"] / c["fit"],
            "tape_ops_over_fit_cpu": c["tape_ops"] / c["fit"]}


def run(args) -> int:
    emit({"bench": "tape", "machine": machine_info(), "repeat": args.repeat})
    emit({"bench": "tape", **step_times(args.repeat)})
    return 0
