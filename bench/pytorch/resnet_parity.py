"""Runs ResNet weights saved by src-main/ml/weights.ts through the PyTorch ResNet of resnet.py, to
check that the TF.js backbone computes the same function (used by resnet.test.ts).

Usage: python3 resnet_parity.py ARCH WEIGHTS_DIR INPUT_BIN B H W OUT_DIR
  INPUT_BIN: float32 NHWC images. Writes OUT_DIR/eval_<tap>.bin (NHWC float32, eval mode) and
  OUT_DIR/running_mean.bin, running_var.bin (bn1 after one training-mode forward)."""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from resnet import ResNet  # noqa: E402


def load_state(weights_dir):
    model = json.load(open(os.path.join(weights_dir, 'model.json')))
    data = open(os.path.join(weights_dir, 'weights.bin'), 'rb').read()
    state, offset = {}, 0
    for spec in model['weightsManifest'][0]['weights']:
        n = int(np.prod(spec['shape'])) if spec['shape'] else 1
        arr = np.frombuffer(data, dtype=np.float32, count=n, offset=offset).reshape(spec['shape'])
        offset += 4 * n
        t = torch.from_numpy(arr.copy())
        if t.dim() == 4:  # HWIO (TF) -> OIHW (PyTorch)
            t = t.permute(3, 2, 0, 1).contiguous()
        state[spec['name']] = t
    return state


def main():
    arch, weights_dir, input_bin, b, h, w, out_dir = sys.argv[1:8]
    b, h, w = int(b), int(h), int(w)
    torch.set_num_threads(1)
    net = ResNet(arch)
    missing, unexpected = net.load_state_dict(load_state(weights_dir), strict=False)
    missing = [m for m in missing if not m.endswith('num_batches_tracked')]
    if missing or unexpected:
        raise SystemExit(f'state mismatch: missing {missing[:5]} unexpected {unexpected[:5]}')
    x = torch.from_numpy(np.fromfile(input_bin, dtype=np.float32).reshape(b, h, w, 3)).permute(0, 3, 1, 2)
    net.eval()
    with torch.no_grad():
        for name, tap in net(x).items():
            tap.permute(0, 2, 3, 1).contiguous().numpy().astype(np.float32).tofile(os.path.join(out_dir, f'eval_{name}.bin'))
        net.train()
        net(x)
    net.bn1.running_mean.numpy().astype(np.float32).tofile(os.path.join(out_dir, 'running_mean.bin'))
    net.bn1.running_var.numpy().astype(np.float32).tofile(os.path.join(out_dir, 'running_var.bin'))


if __name__ == '__main__':
    main()
