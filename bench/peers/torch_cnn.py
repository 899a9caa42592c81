#!/usr/bin/env python3
"""PyTorch CPU peer for the CNN training throughput benchmark.

Trains the same network as the built-in `cnn` (src-main/engine/model/architectures.ts;
mirrored in src-main/engine/bench/perf-kernels.ts) on random MNIST-shaped data, one Adam
step per batch, and prints one JSON line:

    {"samplesPerSecond": ..., "threads": N, "batchSize": B, ...}

Run it with the Python that has torch (Debian: python3-torch, i.e. /usr/bin/python3).

Usage: torch_cnn.py [threads] [batch_size] [batches] [channels] [size]
       defaults: threads=1, batch_size=64, batches=30, 28×28×1 input.
"""
import json
import sys
import time

import torch
from torch import nn


def build(channels: int, size: int, num_classes: int = 10) -> nn.Module:
    # Conv2D(32,3x3,relu,same) -> MaxPool(2) -> Conv2D(64,3x3,relu,same) -> MaxPool(2)
    # -> Flatten -> Dense(128,relu) -> Dropout(0.2) -> Dense(10) (softmax is inside the loss).
    return nn.Sequential(
        nn.Conv2d(channels, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * (size // 4) * (size // 4), 128), nn.ReLU(),
        nn.Dropout(0.2),
        nn.Linear(128, num_classes),
    )


def main() -> None:
    args = sys.argv[1:]
    threads = int(args[0]) if len(args) > 0 else 1
    batch_size = int(args[1]) if len(args) > 1 else 64
    batches = int(args[2]) if len(args) > 2 else 30
    channels = int(args[3]) if len(args) > 3 else 1
    size = int(args[4]) if len(args) > 4 else 28
    warmup = 3

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = build(channels, size)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    # A few fixed batches, generated before timing (as the tfjs benchmark does).
    data = [
        (torch.rand(batch_size, channels, size, size), torch.randint(0, 10, (batch_size,)))
        for _ in range(min(8, batches + warmup))
    ]

    def step(i: int) -> float:
        x, y = data[i % len(data)]
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    for i in range(warmup):
        step(i)
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    first = last = float("nan")
    for i in range(batches):
        last = step(i)
        if i == 0:
            first = last
    seconds = time.perf_counter() - t0
    cpu_seconds = time.process_time() - cpu0
    print(json.dumps({
        "samplesPerSecond": batches * batch_size / seconds,
        # Per second of process CPU time, all threads together: less sensitive to other
        # load on a shared machine than the wall-clock figure.
        "samplesPerCpuSecond": batches * batch_size / cpu_seconds,
        "threads": torch.get_num_threads(),
        "batchSize": batch_size,
        "batches": batches,
        "inputShape": [size, size, channels],
        "torch": torch.__version__,
        "firstLoss": first,
        "lastLoss": last,
    }))


if __name__ == "__main__":
    main()
