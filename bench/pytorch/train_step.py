"""PyTorch CPU reference for bench/train-throughput.ts: the same ResNet-18 training step.

ResNet-18 in torchvision's layout (resnet.py, so torchvision is not needed), 96x96 input,
global average pool + linear 512->10 + softmax cross-entropy on random labels, SGD with momentum
0.9, learning rate 0.03. Prints one JSON line: {"torch": version, "threads": n, "batch": b, "steps": [wall s, ...],
"cpu": [process CPU s, ...]}.

Usage: python3 bench/pytorch/train_step.py --batch 32 --steps 5 --warmup 2 [--threads N]
"""
import argparse
import json
import time

import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resnet import ResNet  # noqa: E402


class Classifier(nn.Module):
    """ResNet-18 features (conv5_x), global average pool, linear 512 -> classes."""

    def __init__(self, classes=10):
        super().__init__()
        self.features = ResNet('resnet18')
        self.fc = nn.Linear(self.features.out_channels, classes)

    def forward(self, x):
        return self.fc(self.features(x)['conv5_x'].mean(dim=(2, 3)))


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--batch', type=int, default=32)
    p.add_argument('--size', type=int, default=96)
    p.add_argument('--steps', type=int, default=5)
    p.add_argument('--warmup', type=int, default=2)
    p.add_argument('--threads', type=int, default=0, help='0: torch default')
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = Classifier()
    x = torch.randn(args.batch, 3, args.size, args.size)
    labels = torch.randint(0, 10, (args.batch,))
    opt = torch.optim.SGD(model.parameters(), lr=0.03, momentum=0.9)
    model.train()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), labels)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(args.warmup):
        step()
    times, cpu = [], []
    for _ in range(args.steps):
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    print(json.dumps({'torch': torch.__version__, 'threads': torch.get_num_threads(), 'batch': args.batch, 'steps': times, 'cpu': cpu}))


if __name__ == '__main__':
    main()
