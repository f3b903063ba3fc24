"""One PyTorch peer measurement: ``python worker_torch.py MODEL EPOCHS``.

The spec's two models written as idiomatic PyTorch (`nn.Sequential`, NCHW, Adam with Keras's
defaults, the same losses) trained by a plain loop, on the same synthetic data as the Keras
worker. Standalone: imports neither convnp nor TensorFlow. Prints one JSON object.
"""

from __future__ import annotations

import json
import os
import sys
import time

from worker_keras import SIZES, record, synthetic_data  # same folder; run as a script


def build(torch, model: str):
    nn = torch.nn
    if model == "happy":
        net = nn.Sequential(
            nn.ZeroPad2d(3),
            nn.Conv2d(3, 32, 7),
            nn.BatchNorm2d(32, eps=1e-3, momentum=0.01),  # Keras momentum 0.99
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(32 * 32 * 32, 1),
        )
        loss = nn.BCEWithLogitsLoss()  # sigmoid folded into the loss, as usual in PyTorch
    else:
        net = nn.Sequential(
            nn.Conv2d(3, 8, 4, padding="same"),
            nn.ReLU(),
            nn.MaxPool2d(8, 8),
            nn.Conv2d(8, 16, 2, padding="same"),
            nn.ReLU(),
            nn.MaxPool2d(4, 4),
            nn.Flatten(),
            nn.Linear(16 * 2 * 2, 6),
        )
        loss = nn.CrossEntropyLoss()  # softmax folded into the loss
    return net, loss


def measure(model: str, epochs: int) -> dict:
    start = time.perf_counter()
    import torch

    import_seconds = time.perf_counter() - start
    torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(0)
    x_np, y_np = synthetic_data(model)
    _, classes, batch_size = SIZES[model]
    x = torch.from_numpy(x_np.transpose(0, 3, 1, 2).copy())
    y = torch.from_numpy(y_np if classes == 2 else y_np.argmax(1))
    net, loss_fn = build(torch, model)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)

    epoch_times = []
    n = len(x)
    for _ in range(epochs + 1):
        t0 = time.perf_counter()
        net.train()
        order = torch.randperm(n)
        for begin in range(0, n, batch_size):
            idx = order[begin:begin + batch_size]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(x[idx]), y[idx])
            loss.backward()
            opt.step()
        epoch_times.append(time.perf_counter() - t0)

    predict_times = []
    net.eval()
    with torch.no_grad():
        for _ in range(3 if epochs else 0):  # the peak-RSS run measures training alone
            t0 = time.perf_counter()
            for begin in range(0, n, 32):
                net(x[begin:begin + 32])
            predict_times.append(time.perf_counter() - t0)
    return record("torch", model, torch.__version__, epoch_times, predict_times, import_seconds)


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], int(sys.argv[2]))))
