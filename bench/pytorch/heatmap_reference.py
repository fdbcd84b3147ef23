#!/usr/bin/env python3
"""PyTorch reference for Landmark Studio's `heatmap` head (bench/regressor.ts compares against it).

The same network, data, augmentation, loss, optimiser and decoding as
src-main/ml/heads/heatmapHead.ts + src-main/ml/train/trainHeatmapHead.ts:

  ResNet-18 stem .. layer2 (random init, torchvision layout, stride 8)
  -> 3x3 conv + BN + ReLU (64) -> bilinear x2 + 1x1-projected layer1 skip -> 3x3 conv + BN + ReLU
  -> 1x1 conv to K logits; stride 4.
  Gaussian targets (sigma 1.5 cells) normalised to sum 1, cross-entropy against each landmark's
  spatial softmax, masked channels for points that are not visible. Adam (coupled L2 1e-4 on conv kernels), cosine schedule, batch 8.
  Augmentation: rotation +-180, log-uniform scale 0.8-1.25, flips swapping flip partners,
  translation putting the points' box anywhere it fits, brightness/contrast +-0.2.
  Decoding: argmax + parabola fit on the logits.

Input: a dataset folder with images/ and labels.json (ml/demo/writeDataset.ts layout). Frames are
letterboxed into a square input of --input-size pixels; errors are in original frame pixels.
Training runs for a wall-clock budget: the cosine schedule follows the fraction of the budget
spent and training stops when it is spent (bench/regressor.ts does the same).

  pip install --retries 0 torch pillow numpy
  python3 bench/pytorch/heatmap_reference.py --data DIR --train 20 --test 40 --budget 60

Prints one JSON line with the figures.
"""
import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resnet import BasicBlock  # noqa: E402

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


# ---- network -------------------------------------------------------------------------------
class HeatmapNet(nn.Module):
    def __init__(self, k, d=64):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.layer1 = nn.Sequential(BasicBlock(64, 64, 1), BasicBlock(64, 64, 1))
        self.layer2 = nn.Sequential(BasicBlock(64, 128, 2), BasicBlock(128, 128, 1))
        self.reduce = nn.Sequential(nn.Conv2d(128, d, 3, 1, 1, bias=False), nn.BatchNorm2d(d), nn.ReLU())
        self.skip = nn.Conv2d(64, d, 1, bias=False)
        self.up = nn.Sequential(nn.Conv2d(d, d, 3, 1, 1, bias=False), nn.BatchNorm2d(d), nn.ReLU())
        self.out = nn.Conv2d(d, k, 1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):  # torchvision's ResNet init, as the TS backbone
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        nn.init.zeros_(self.out.bias)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        c2 = self.layer1(x)
        c3 = self.layer2(c2)
        y = self.reduce(c3)
        y = F.interpolate(y, size=c2.shape[2:], mode="bilinear", align_corners=False) + self.skip(c2)
        return self.out(self.up(y))


# ---- data ----------------------------------------------------------------------------------
def letterbox(path, size):
    """RGB float [3, size, size] in [0, 1] and the map (scale, pad_x, pad_y) original -> input."""
    img = Image.open(path).convert("RGB")
    w, h = img.size
    s = size / max(w, h)
    cw, ch = min(size, max(1, round(w * s))), min(size, max(1, round(h * s)))
    px, py = (size - cw) // 2, (size - ch) // 2
    canvas = Image.new("RGB", (size, size))
    canvas.paste(img.resize((cw, ch), Image.BILINEAR), (px, py))
    arr = torch.from_numpy(np.asarray(canvas, dtype=np.float32) / 255.0).permute(2, 0, 1)
    return arr, (cw / w, ch / h, px, py)


def load(data_dir, names, size):
    labels = json.load(open(os.path.join(data_dir, "labels.json")))
    out = []
    for item in labels["items"]:
        if item["file"] not in names:
            continue
        img, (sx, sy, px, py) = letterbox(os.path.join(data_dir, "images", item["file"]), size)
        vis = item.get("visibility") or ["visible"] * len(item["points"])
        pts = np.array([[p[0] * sx + px, p[1] * sy + py] if p else [0, 0] for p in item["points"]], np.float32)
        known = np.array([p is not None and v != "absent" for p, v in zip(item["points"], vis)])
        visible = np.array([p is not None and v == "visible" for p, v in zip(item["points"], vis)])
        orig = np.array([p if p else [0, 0] for p in item["points"]], np.float32)
        size_wh = Image.open(os.path.join(data_dir, "images", item["file"])).size
        out.append(dict(img=img, pts=pts, visible=visible, known=known, orig=orig, map=(sx, sy, px, py), wh=size_wh))
    return out, labels


# ---- augmentation --------------------------------------------------------------------------
def sample_affine(rng, pts, visible, in_size, size):
    """Input->augmented 3x3 matrix, flip flag: rotation/scale/flip about the in_size letterbox's
    centre, then the points' box anywhere in the size x size output (a training crop when
    size < in_size). Mirrors trainHeatmapHead.ts sampleAugmentation."""
    flipped = rng.random() < 0.5
    s = math.exp(rng.uniform(math.log(0.8), math.log(1.25)))
    a = math.radians(rng.uniform(-180, 180))
    c = in_size / 2
    m = np.eye(3)
    if flipped:
        m = np.array([[-1, 0, in_size], [0, 1, 0], [0, 0, 1.0]]) @ m
    rot = np.array([[math.cos(a) * s, -math.sin(a) * s, 0], [math.sin(a) * s, math.cos(a) * s, 0], [0, 0, 1]])
    m = np.array([[1, 0, c], [0, 1, c], [0, 0, 1.0]]) @ rot @ np.array([[1, 0, -c], [0, 1, -c], [0, 0, 1.0]]) @ m
    moved = (m[:2, :2] @ pts[visible].T).T + m[:2, 2] if visible.any() else np.zeros((0, 2))
    shift = []
    for axis in range(2):
        if len(moved) == 0:
            shift.append(0.0)
            continue
        lo, hi = moved[:, axis].min(), moved[:, axis].max()
        shift.append(rng.uniform(1 - lo, size - 1 - hi) if hi - lo < size - 2 else rng.uniform(1 - hi, size - 1 - lo))
    m = np.array([[1, 0, shift[0]], [0, 1, shift[1]], [0, 0, 1.0]]) @ m
    return m, flipped


def warp(images, mats, size):
    """Warps [B,3,S,S] into [B,3,size,size] by input->output pixel matrices (bilinear, zeros outside)."""
    # normalised coords (align_corners=False): x_pix = (x_n + 1) * S / 2
    def norm(side):
        return np.array([[side / 2, 0, side / 2], [0, side / 2, side / 2], [0, 0, 1]])

    thetas = [(np.linalg.inv(norm(images.shape[-1])) @ np.linalg.inv(m) @ norm(size))[:2] for m in mats]
    theta = torch.tensor(np.stack(thetas), dtype=torch.float32)
    grid = F.affine_grid(theta, [images.shape[0], images.shape[1], size, size], align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def make_batch(rng, examples, idx, in_size, size, sigma, flip_perm):
    imgs, mats, targets, masks = [], [], [], []
    k = len(flip_perm)
    cells = math.ceil(size / 4)
    for i in idx:
        e = examples[i]
        m, flipped = sample_affine(rng, e["pts"], e["visible"], in_size, size)
        pts = (m[:2, :2] @ e["pts"].T).T + m[:2, 2]
        vis = e["visible"].copy()
        if flipped:
            pts, vis = pts[flip_perm], vis[flip_perm]
        inside = (pts[:, 0] >= 0) & (pts[:, 1] >= 0) & (pts[:, 0] < size) & (pts[:, 1] < size)
        mask = vis & inside
        t = np.zeros((k, cells, cells), np.float32)
        ys, xs = np.mgrid[0:cells, 0:cells]
        for j in range(k):
            if mask[j]:
                cx, cy = pts[j, 0] / 4 - 0.5, pts[j, 1] / 4 - 0.5
                g = np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * sigma**2))
                reach = math.ceil(3 * sigma)  # the same window as HeatmapHead.gaussianTargets
                g[(xs < math.floor(cx) - reach) | (xs > math.ceil(cx) + reach)] = 0
                g[(ys < math.floor(cy) - reach) | (ys > math.ceil(cy) + reach)] = 0
                t[j] = g
        imgs.append(e["img"])
        mats.append(m)
        targets.append(t)
        masks.append(mask)
    x = warp(torch.stack(imgs), mats, size)
    b = x.shape[0]
    bright = torch.tensor([rng.uniform(0.8, 1.2) for _ in range(b)]).view(b, 1, 1, 1)
    contrast = torch.tensor([rng.uniform(0.8, 1.2) for _ in range(b)]).view(b, 1, 1, 1)
    x = (x * bright).clamp(0, 1)
    luma = (x * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True).mean((2, 3), keepdim=True)
    x = ((x - luma) * contrast + luma).clamp(0, 1)
    return (x - MEAN) / STD, torch.from_numpy(np.stack(targets)), torch.tensor(np.stack(masks), dtype=torch.float32)


def spatial_ce_loss(logits, targets, mask):
    """Cross-entropy of normalised Gaussian targets against each landmark's spatial softmax."""
    b, k = logits.shape[:2]
    z = F.log_softmax(logits.reshape(b, k, -1), dim=2)
    t = targets.reshape(b, k, -1)
    t = t / t.sum(2, keepdim=True).clamp(min=1e-6)
    ce = -(t * z).sum(2)
    return (ce * mask).sum() / mask.sum().clamp(min=1)


def decode(logits):
    """[B,K,H,W] -> coords [B,K,2] input pixels (argmax + parabola), mirrors HeatmapHead.decode."""
    b, k, h, w = logits.shape
    z = logits.detach().numpy()
    out = np.zeros((b, k, 2), np.float32)
    for n in range(b):
        for j in range(k):
            i, c = np.unravel_index(np.argmax(z[n, j]), (h, w))

            def off(lo, mid, hi):
                cur = lo - 2 * mid + hi
                return max(-0.5, min(0.5, 0.5 * (lo - hi) / cur)) if cur < 0 else 0.0

            dx = off(z[n, j, i, c - 1], z[n, j, i, c], z[n, j, i, c + 1]) if 0 < c < w - 1 else 0.0
            dy = off(z[n, j, i - 1, c], z[n, j, i, c], z[n, j, i + 1, c]) if 0 < i < h - 1 else 0.0
            out[n, j] = [(c + 0.5 + dx) * 4, (i + 0.5 + dy) * 4]
    return out


def infer(a):
    """Inference throughput from file to coordinates, as bench/predict-throughput.ts times ours."""
    torch.set_num_threads(a.threads)
    labels = json.load(open(os.path.join(a.data, "labels.json")))
    files = [os.path.join(a.data, "images", it["file"]) for it in labels["items"]]
    net = HeatmapNet(len(labels["names"])).eval()
    started = time.perf_counter()
    cpu_started = time.process_time()
    with torch.no_grad():
        for i in range(0, len(files), 16):
            batch = [letterbox(f, a.input_size) for f in files[i : i + 16]]
            decode(net((torch.stack([img for img, _ in batch]) - MEAN) / STD))
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            dict(
                framework="pytorch",
                torch=torch.__version__,
                threads=torch.get_num_threads(),
                images=len(files),
                inputSize=a.input_size,
                seconds=round(seconds, 2),
                cpuSeconds=round(time.process_time() - cpu_started, 2),
                imagesPerSecond=round(len(files) / seconds, 2),
            )
        )
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--train", type=int, default=20)
    ap.add_argument("--test", type=int, default=40)
    ap.add_argument("--input-size", type=int, default=256)
    ap.add_argument("--crop", type=int, default=128, help="training crop side (0: the whole input)")
    ap.add_argument("--budget", type=float, default=60, help="training wall-clock seconds")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--infer", action="store_true", help="time inference only (decode file, forward, decode peaks) on every image")
    a = ap.parse_args()
    if a.infer:
        return infer(a)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)
    files = [it["file"] for it in json.load(open(os.path.join(a.data, "labels.json")))["items"]]
    train, labels = load(a.data, set(files[: a.train]), a.input_size)
    test, _ = load(a.data, set(files[a.train : a.train + a.test]), a.input_size)
    k = len(labels["names"])
    flip_perm = list(range(k))
    for p, q in labels.get("flipPairs", []):
        flip_perm[p], flip_perm[q] = q, p
    flip_perm = np.array(flip_perm)
    crop = min(a.crop or a.input_size, a.input_size)
    net = HeatmapNet(k)
    decay = [p for p in net.parameters() if p.dim() == 4]
    rest = [p for p in net.parameters() if p.dim() != 4]
    opt = torch.optim.Adam([{"params": decay, "weight_decay": 1e-4}, {"params": rest, "weight_decay": 0}], lr=1e-3)
    order = []

    def step_once(done):
        nonlocal order
        while len(order) < a.batch:
            perm = list(range(len(train)))
            rng.shuffle(perm)
            order += perm
        idx, order = order[: a.batch], order[a.batch :]
        for g in opt.param_groups:
            g["lr"] = 0.5 * 1e-3 * (1 + math.cos(math.pi * done))
        x, t, m = make_batch(rng, train, idx, a.input_size, crop, 1.5, flip_perm)
        loss = spatial_ce_loss(net(x), t, m)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    net.train()
    started = time.perf_counter()
    cpu_started = time.process_time()
    # Cosine over the wall-clock budget, as ours (runTrainLoop with budgetSeconds): each step's rate
    # follows the fraction of the budget spent, and training stops when it is all spent.
    steps, loss = 0, 0.0
    while (done := (time.perf_counter() - started) / a.budget) < 1:
        loss = step_once(done)
        steps += 1
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started

    net.eval()
    errors, base = [], []
    # Mean-shape baseline (src-shared/metrics.ts): mean frame-relative position of each keypoint.
    rel = [np.where(e["known"][:, None], e["orig"] / np.array(e["wh"]), np.nan) for e in train]
    mean_shape = np.nanmean(np.stack(rel), 0)
    with torch.no_grad():
        for i in range(0, len(test), 16):
            chunk = test[i : i + 16]
            coords = decode(net((torch.stack([e["img"] for e in chunk]) - MEAN) / STD))
            for e, c in zip(chunk, coords):
                sx, sy, px, py = e["map"]
                orig = np.stack([(c[:, 0] - px) / sx, (c[:, 1] - py) / sy], 1)
                w, h = e["wh"]
                for j in range(k):
                    if e["known"][j]:
                        errors.append(np.hypot(*(orig[j] - e["orig"][j])))
                        base.append(np.hypot(*(mean_shape[j] * [w, h] - e["orig"][j])))
    print(
        json.dumps(
            dict(
                framework="pytorch",
                torch=torch.__version__,
                threads=torch.get_num_threads(),
                train=len(train),
                test=len(test),
                inputSize=a.input_size,
                steps=steps,
                seconds=round(seconds, 1),
                cpuSeconds=round(cpu_seconds, 1),
                imagesPerSecond=round(steps * a.batch / seconds, 2),
                finalLoss=round(loss, 5),
                pixelError=round(float(np.mean(errors)), 2),
                baselinePixelError=round(float(np.mean(base)), 2),
            )
        )
    )


if __name__ == "__main__":
    main()
