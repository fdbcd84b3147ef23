#!/usr/bin/env python3
"""PyTorch reference for Landmark Studio's `heatmap` head (bench/regressor.ts compares against it).

The same network, data, augmentation, loss, optimiser and decoding as
src-main/ml/heads/heatmapHead.ts + src-main/ml/train/trainHeatmapHead.ts:

  ResNet-18 stem .. layer2 (random init, torchvision layout, stride 8)
  -> 3x3 conv + BN + ReLU (64) -> bilinear x2 + 1x1-projected layer1 skip -> 3x3 conv + BN + ReLU
  -> 1x1 conv to K logits; stride 4.
  Gaussian targets (sigma 1.5 cells) normalised to sum 1, cross-entropy against each landmark's
  spatial softmax, masked channels for points that are not visible. Adam (coupled L2 1e-4 on conv kernels), cosine schedule, batch 8.
  Augmentation: rotation, log-uniform scale, flips swapping flip partners and translation within
  the ranges given (default the fixed recipe: +-180 degrees, 0.8-1.25, flips, the points' box
  anywhere it fits; bench/regressor.ts --data passes the ranges a run chooses from its labels),
  brightness/contrast +-0.2.
  Decoding: argmax + parabola fit on the logits; points kept on the image.

Input: a dataset folder with images/ and labels.json (ml/demo/writeDataset.ts layout). Frames are
letterboxed into a square input of --input-size pixels; errors are in original frame pixels.
Training runs for a wall-clock budget: the cosine schedule follows the fraction of the budget
spent and training stops when it is spent (bench/regressor.ts does the same).

  pip install --retries 0 torch pillow numpy
  python3 bench/pytorch/heatmap_reference.py --data DIR --train 20 --test 40 --budget 60
  python3 bench/pytorch/heatmap_reference.py --data DIR --split split.json --flip off \
      --rotation 30 --scale 0.8,1.2 --translate 0.1,0.05 --budget 60

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
def uniform_within(rng, lo, hi, lo_limit, hi_limit):
    """Uniform in [lo, hi] intersected with [lo_limit, hi_limit]; the limit nearest 0 when they miss
    (heatmapBatches.ts uniformWithin)."""
    a, b = max(lo, lo_limit), min(hi, hi_limit)
    return rng.uniform(a, b) if a <= b else min(max(0.0, lo_limit), hi_limit)


def shifted(dx, dy):
    return np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1.0]])


def sample_affine(rng, pts, visible, in_size, size, aug):
    """Input->augmented 3x3 matrix, flip flag: rotation/scale/flip about the in_size letterbox's
    centre, then a shift into the size x size output (a training crop when size < in_size).
    Mirrors heatmapBatches.ts sampleAugmentation: with translate 'anywhere' the points' box goes
    anywhere it fits in the output; with a range [tx, ty] (fractions of the input side) the box
    turns about its own centre, moves at most that far within the letterbox, and a crop window
    inside the letterbox holding it is cut."""
    flipped = aug["flip"] and rng.random() < 0.5
    lo, hi = aug["scale"]
    s = math.exp(rng.uniform(math.log(lo), math.log(hi)))
    a = math.radians(rng.uniform(-aug["rotation"], aug["rotation"]))
    c = in_size / 2
    m = np.eye(3)
    if flipped:
        m = np.array([[-1, 0, in_size], [0, 1, 0], [0, 0, 1.0]]) @ m
    rot = np.array([[math.cos(a) * s, -math.sin(a) * s, 0], [math.sin(a) * s, math.cos(a) * s, 0], [0, 0, 1]])
    m = shifted(c, c) @ rot @ shifted(-c, -c) @ m
    if not visible.any():
        return m, flipped
    if aug["translate"] == "anywhere":
        moved = (m[:2, :2] @ pts[visible].T).T + m[:2, 2]
        shift = []
        for axis in range(2):
            lo, hi = moved[:, axis].min(), moved[:, axis].max()
            shift.append(rng.uniform(1 - lo, size - 1 - hi) if hi - lo < size - 2 else rng.uniform(1 - hi, size - 1 - lo))
        return shifted(*shift) @ m, flipped
    box_lo, box_hi = pts[visible].min(0), pts[visible].max(0)
    cx, cy = (box_lo + box_hi) / 2 - c
    about = shifted(cx, cy) @ m @ shifted(-cx, -cy)
    moved = (about[:2, :2] @ pts[visible].T).T + about[:2, 2]
    m_lo, m_hi = moved.min(0), moved.max(0)
    d = [
        uniform_within(rng, -t * in_size, t * in_size, 1 - m_lo[axis], in_size - 1 - m_hi[axis])
        for axis, t in enumerate(aug["translate"])
    ]

    def origin(lo, hi):
        if hi - lo < size - 2:
            return uniform_within(rng, hi + 1 - size, lo - 1, 0, in_size - size)
        return uniform_within(rng, lo + 1 - size, hi - 1, 0, in_size - size)

    o = [origin(m_lo[axis] + d[axis], m_hi[axis] + d[axis]) for axis in range(2)]
    return shifted(d[0] - o[0], d[1] - o[1]) @ about, flipped


def warp(images, mats, size):
    """Warps [B,3,S,S] into [B,3,size,size] by input->output pixel matrices (bilinear, zeros outside)."""
    # normalised coords (align_corners=False): x_pix = (x_n + 1) * S / 2
    def norm(side):
        return np.array([[side / 2, 0, side / 2], [0, side / 2, side / 2], [0, 0, 1]])

    thetas = [(np.linalg.inv(norm(images.shape[-1])) @ np.linalg.inv(m) @ norm(size))[:2] for m in mats]
    theta = torch.tensor(np.stack(thetas), dtype=torch.float32)
    grid = F.affine_grid(theta, [images.shape[0], images.shape[1], size, size], align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def make_batch(rng, examples, idx, in_size, size, sigma, flip_perm, aug):
    imgs, mats, targets, masks = [], [], [], []
    k = len(flip_perm)
    cells = math.ceil(size / 4)
    for i in idx:
        e = examples[i]
        m, flipped = sample_affine(rng, e["pts"], e["visible"], in_size, size, aug)
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
    ap.add_argument("--split", help='JSON file {"train": [file, ...], "test": [file, ...]} replacing --train/--test')
    ap.add_argument("--flip-pairs", help="partners as JSON index pairs, e.g. [[1,2]] (default: labels.json flipPairs)")
    ap.add_argument("--flip", choices=["on", "off"], default="on", help="horizontal flips swapping partners")
    ap.add_argument("--rotation", type=float, default=180, help="degrees either side")
    ap.add_argument("--scale", default="0.8,1.25", help="LO,HI, sampled log-uniformly")
    ap.add_argument("--translate", default="anywhere", help="X,Y (fractions of the input side) or anywhere")
    a = ap.parse_args()
    if a.infer:
        return infer(a)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = random.Random(a.seed)
    if a.split:
        split = json.load(open(a.split))
        train_files, test_files = split["train"], split["test"]
    else:
        files = [it["file"] for it in json.load(open(os.path.join(a.data, "labels.json")))["items"]]
        train_files, test_files = files[: a.train], files[a.train : a.train + a.test]
    train, labels = load(a.data, set(train_files), a.input_size)
    test, _ = load(a.data, set(test_files), a.input_size)
    k = len(labels["names"])
    flip_perm = list(range(k))
    for p, q in json.loads(a.flip_pairs) if a.flip_pairs else labels.get("flipPairs", []):
        flip_perm[p], flip_perm[q] = q, p
    flip_perm = np.array(flip_perm)
    aug = dict(
        flip=a.flip == "on",
        rotation=a.rotation,
        scale=[float(v) for v in a.scale.split(",")],
        translate="anywhere" if a.translate == "anywhere" else [float(v) for v in a.translate.split(",")],
    )
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
        x, t, m = make_batch(rng, train, idx, a.input_size, crop, 1.5, flip_perm, aug)
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
    errors, base = [[] for _ in range(k)], [[] for _ in range(k)]
    # Mean-shape baseline (src-shared/metrics.ts): mean frame-relative position of each keypoint.
    rel = [np.where(e["known"][:, None], e["orig"] / np.array(e["wh"]), np.nan) for e in train]
    mean_shape = np.nanmean(np.stack(rel), 0)
    with torch.no_grad():
        for i in range(0, len(test), 16):
            chunk = test[i : i + 16]
            coords = decode(net((torch.stack([e["img"] for e in chunk]) - MEAN) / STD))
            for e, c in zip(chunk, coords):
                sx, sy, px, py = e["map"]
                w, h = e["wh"]
                # Kept on the image, as ours (predict.ts clampToRegion): a peak in the letterbox
                # padding names the nearest place on the image.
                orig = np.stack([np.clip((c[:, 0] - px) / sx, 0, w), np.clip((c[:, 1] - py) / sy, 0, h)], 1)
                for j in range(k):
                    if e["known"][j]:
                        errors[j].append(np.hypot(*(orig[j] - e["orig"][j])))
                        base[j].append(np.hypot(*(mean_shape[j] * [w, h] - e["orig"][j])))

    def per_keypoint(values):
        return [round(float(np.mean(v)), 2) if v else None for v in values]
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
                pixelError=round(float(np.mean(np.concatenate(errors))), 2),
                pixelErrorPerKeypoint=per_keypoint(errors),
                baselinePixelError=round(float(np.mean(np.concatenate(base))), 2),
                baselinePixelErrorPerKeypoint=per_keypoint(base),
            )
        )
    )


if __name__ == "__main__":
    main()
