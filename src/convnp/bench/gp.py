"""``python -m convnp.bench gp``: a critic step with a gradient penalty (a second-order
gradient), convnp against PyTorch.

The critic is keras.io's WGAN-GP one for 28x28 digits (zero-padded to 32x32; four 5x5
stride-2 convolutions of 64, 128, 256 and 512 filters with LeakyReLU(0.2) and dropout, a
dense score). One step, as the example's ``train_step`` does for the critic: scores of a
real and a fake batch, the penalty ``mean((|d critic(x_hat) / d x_hat| - 1)^2)`` at random
interpolates, and one Adam update from the gradient of ``fake - real + 10 * penalty``
(convnp: two nested `GradientTape`s; PyTorch: ``autograd.grad(..., create_graph=True)``).

Both run in this process, in ``rounds`` interleaved rounds (the machine's load changes):
each number is the median over rounds of the per-round median of ``repeat`` steps, in wall
time and in CPU time of the process (all threads: steadier when other programs share the
cores, which slows PyTorch's spinning threads most), and each ratio is the median of the
within-round ratios. Prints JSON lines.
"""

from __future__ import annotations

import statistics

import numpy as np

from convnp.bench.common import emit, interleaved_times, machine_info, torch_or_none

FILTERS = (64, 128, 256, 512)
DROPOUT = (0.0, 0.3, 0.3, 0.0)


def _data(batch: int):
    rng = np.random.default_rng(0)
    real = rng.uniform(-1, 1, size=(batch, 28, 28, 1)).astype(np.float32)
    fake = rng.uniform(-1, 1, size=(batch, 28, 28, 1)).astype(np.float32)
    return real, fake


def convnp_step(batch: int):
    """A function running one convnp critic step, and the critic it trains."""
    import convnp as tf

    layers = tf.keras.layers
    tf.keras.utils.set_random_seed(0)
    inp = tf.keras.Input((28, 28, 1))
    x = layers.ZeroPadding2D((2, 2))(inp)
    for filters, rate in zip(FILTERS, DROPOUT):
        x = layers.Conv2D(filters, 5, strides=2, padding="same")(x)
        x = layers.LeakyReLU(0.2)(x)
        if rate:
            x = layers.Dropout(rate)(x)
    x = layers.Dropout(0.2)(layers.Flatten()(x))
    critic = tf.keras.Model(inp, layers.Dense(1)(x))
    optimizer = tf.keras.optimizers.Adam(2e-4, beta_1=0.5, beta_2=0.9)
    real, fake = (tf.constant(a) for a in _data(batch))
    rng = np.random.default_rng(1)

    def step():
        alpha = rng.uniform(size=(batch, 1, 1, 1)).astype(np.float32)
        with tf.GradientTape() as tape:
            d_cost = (tf.reduce_mean(critic(fake, training=True))
                      - tf.reduce_mean(critic(real, training=True)))
            interpolated = real + alpha * (fake - real)
            with tf.GradientTape() as gp_tape:
                gp_tape.watch(interpolated)
                pred = critic(interpolated, training=True)
            grads = gp_tape.gradient(pred, [interpolated])[0]
            norm = tf.sqrt(tf.reduce_sum(tf.square(grads), axis=[1, 2, 3]))
            loss = d_cost + 10.0 * tf.reduce_mean((norm - 1.0) ** 2)
        found = tape.gradient(loss, critic.trainable_variables)
        optimizer.apply_gradients(zip(found, critic.trainable_variables))

    return step, critic


def torch_step(torch, batch: int):
    """The same step in PyTorch (channels first)."""
    nn = torch.nn
    torch.manual_seed(0)
    parts: list = [nn.ZeroPad2d(2)]
    channels = 1
    for filters, rate in zip(FILTERS, DROPOUT):
        parts += [nn.Conv2d(channels, filters, 5, stride=2, padding=2), nn.LeakyReLU(0.2)]
        if rate:
            parts.append(nn.Dropout(rate))
        channels = filters
    parts += [nn.Flatten(), nn.Dropout(0.2), nn.Linear(512 * 2 * 2, 1)]
    critic = nn.Sequential(*parts)
    optimizer = torch.optim.Adam(critic.parameters(), lr=2e-4, betas=(0.5, 0.9))
    real, fake = (torch.from_numpy(np.ascontiguousarray(a.transpose(0, 3, 1, 2)))
                  for a in _data(batch))

    def step():
        optimizer.zero_grad()
        d_cost = critic(fake).mean() - critic(real).mean()
        alpha = torch.rand(batch, 1, 1, 1)
        interpolated = (real + alpha * (fake - real)).requires_grad_(True)
        pred = critic(interpolated)
        grads = torch.autograd.grad(pred.sum(), interpolated, create_graph=True)[0]
        penalty = ((grads.flatten(1).norm(dim=1) - 1.0) ** 2).mean()
        (d_cost + 10.0 * penalty).backward()
        optimizer.step()

    return step


def step_times(repeat: int, rounds: int, batch: int = 64) -> dict:
    """Median seconds per critic step of convnp and (when importable) PyTorch."""
    steps = {"convnp": convnp_step(batch)[0]}
    torch = torch_or_none()
    if torch is not None:
        steps["torch"] = torch_step(torch, batch)
    wall, cpu = interleaved_times(steps, rounds, repeat)
    record = {"model": "wgan_gp_critic", "batch": batch, "rounds": rounds, "repeat": repeat}
    for name in steps:
        record[f"{name}_step_s"] = statistics.median(wall[name])
        record[f"{name}_step_cpu_s"] = statistics.median(cpu[name])
    if "torch" in steps:
        for key, times in (("convnp_over_torch", wall), ("convnp_over_torch_cpu", cpu)):
            record[key] = statistics.median(
                c / t for c, t in zip(times["convnp"], times["torch"]))
    return record


def run(args) -> int:
    emit({"bench": "gp", "machine": machine_info(), "repeat": args.repeat,
          "rounds": args.rounds})
    emit({"bench": "gp", **step_times(args.repeat, args.rounds, args.batch)})
    return 0
