"""PyTorch CPU reference for bench/train-throughput.ts: the same ResNet-18 training step.

ResNet-18 in torchvision's layout (resnet.py, so torchvision is not needed), 96x96 input,
global average pool + linear 512->10 + softmax cross-entropy on random labels, SGD with momentum
0.9, learning rate 0.03. Prints one JSON line: {"torch": version, "threads": n, "batch": b, "steps": [wall s, ...],
"cpu": [process CPU s, ...]}.

Usage: python3 bench/pytorch/train_step.py --batch 32 --steps 5 --warmup 2 [--threads N]
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resnet import ResNet  # noqa: E402
from step_timing import parse_step_args, print_step_report, time_steps  # noqa: E402


class Classifier(nn.Module):
    """ResNet-18 features (conv5_x), global average pool, linear 512 -> classes."""

    def __init__(self, classes=10):
        super().__init__()
        self.features = ResNet('resnet18')
        self.fc = nn.Linear(self.features.out_channels, classes)

    def forward(self, x):
        return self.fc(self.features(x)['conv5_x'].mean(dim=(2, 3)))


def main():
    args = parse_step_args()
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

    times, cpu, _ = time_steps(step, args.warmup, args.steps)
    print_step_report(args.batch, times, cpu)


if __name__ == '__main__':
    main()
