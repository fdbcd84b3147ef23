"""PyTorch CPU reference for bench/pretrain-throughput.ts: the same MoCo v2 iteration as
src-main/ml/pretrain/moco.ts.

ResNet-18 (resnet.py, torchvision's layout) + MLP head 512 -> 512 -> 128, L2-normalised; key
encoder := EMA (momentum 0.999) of every query weight, batch-norm statistics included; keys from
a shuffled batch run in sub-batches of batch / splits (split batch norm, MoCo's one-device
ShuffleBN) and unshuffled; queries in the same sub-batches unshuffled; InfoNCE against the
positive and a queue of 4096 negatives at temperature 0.07; SGD momentum 0.9, weight decay 1e-4,
lr 0.03; the keys replace the oldest queue rows. The two views are fixed random tensors: this
times the model step only (no decoding or augmentation).

Prints one JSON line: {"torch": version, "threads": n, "batch": b, "steps": [wall s, ...],
"cpu": [process CPU s, ...], "loss": last loss}.

Usage: python3 bench/pytorch/moco_step.py --batch 32 --size 96 --steps 5 --warmup 2
"""
import copy
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resnet import ResNet  # noqa: E402
from step_timing import parse_step_args, print_step_report, time_steps  # noqa: E402


class Encoder(nn.Module):
    """Backbone, global average pool of conv5_x, MoCo v2's MLP head, unit-length output."""

    def __init__(self, dim=128):
        super().__init__()
        self.backbone = ResNet('resnet18')
        width = self.backbone.out_channels
        self.head = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, dim))

    def forward(self, x, splits):
        # One backbone pass per sub-batch: batch norm statistics per sub-batch (SplitBatchNorm).
        pooled = [self.backbone(chunk)['conv5_x'].mean(dim=(2, 3)) for chunk in torch.tensor_split(x, splits)]
        return F.normalize(self.head(torch.cat(pooled)), dim=1)


def main():
    def add_moco_arguments(p):
        p.add_argument('--queue', type=int, default=4096)
        p.add_argument('--splits', type=int, default=4)

    args = parse_step_args(add_moco_arguments)
    query = Encoder()
    key = copy.deepcopy(query)
    for param in key.parameters():
        param.requires_grad = False
    query.train()
    key.train()
    queue = F.normalize(torch.randn(args.queue, 128), dim=1)
    pointer = 0
    view_q = torch.rand(args.batch, 3, args.size, args.size)
    view_k = torch.rand(args.batch, 3, args.size, args.size)
    opt = torch.optim.SGD(query.parameters(), lr=0.03, momentum=0.9, weight_decay=1e-4)
    m, tau = 0.999, 0.07

    def step():
        nonlocal pointer, queue
        with torch.no_grad():
            q_state, k_state = query.state_dict(), key.state_dict()
            for name, k_value in k_state.items():
                if k_value.is_floating_point():
                    k_value.mul_(m).add_(q_state[name], alpha=1 - m)
            shuffle = torch.randperm(args.batch)
            k = key(view_k[shuffle], args.splits)[torch.argsort(shuffle)]
        q = query(view_q, args.splits)
        positive = (q * k).sum(dim=1, keepdim=True)
        negative = q @ queue.t()
        logits = torch.cat([positive, negative], dim=1) / tau
        loss = F.cross_entropy(logits, torch.zeros(args.batch, dtype=torch.long))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            rows = (torch.arange(args.batch) + pointer) % args.queue
            queue[rows] = k
            pointer = (pointer + args.batch) % args.queue
        return loss.item()

    times, cpu, loss = time_steps(step, args.warmup, args.steps)
    print_step_report(args.batch, times, cpu, loss=loss)


if __name__ == '__main__':
    main()
