"""Which short pretraining makes ResNet-18's stem..layer2 a better init for the heatmap head than
random init? A PyTorch probe run on the lent GPU (bench/README.md, "Choosing the pretraining"):

  pretraining variants on the bench's unlabeled demo images (frame tiles or crops):
    moco        MoCo v2 with bench/fewshot.ts's small-folder settings (queue 1024, key momentum 0.99)
    dense       paper 003 Eq. 7 on a hypercolumn of conv2_x + conv3_x sampled at K points per image
                (src-main/ml/pretrain/denseContrast.ts is the product's version)
    moco+dense  both losses, the dense one between query and key encoders
  transfer modes: as-is; norm (every conv kernel rescaled to its random-init norm, BN statistics
  rescaled so the function is unchanged); stem (stem put back to its random init)
  then the heatmap head of heatmap_reference.py fine-tuned from each (20 labels of the first 100
  labeled images, --subsets label subsets x --seeds seeds, 40 held-out images), mean pixel error.

  python3 bench/pytorch/pretrain_probe.py --unlabeled DIR --labeled DIR --regime frames \
      --variant dense --steps 4000 --batch 8 --k 64 --size 48 --lr 0.06 --modes as-is

DIRs: the bench's cache (/tmp/landmark-bench-fewshot/frame-n500-s101-tiles and
frame-n140-s202, or crop-n2000-s101/images and crop-n140-s202). Prints one JSON line per mode."""
import argparse, copy, json, math, os, random, sys, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, 'bench/pytorch')
from resnet import ResNet  # noqa
import heatmap_reference as H  # noqa

dev = 'cuda' if torch.cuda.is_available() else 'cpu'
MEAN = torch.tensor([0.485, 0.456, 0.406], device=dev).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225], device=dev).view(1, 3, 1, 1)


def load_tiles(d):
    files = sorted(f for f in os.listdir(d) if f.lower().endswith(('.png', '.jpg', '.jpeg')))
    arr = np.stack([np.asarray(Image.open(os.path.join(d, f)).convert('RGB')) for f in files])
    return torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous().to(dev)


def view_thetas(b, h, w, rot):
    """Random resized crop (area 0.2-1, aspect 3/4-4/3) + flip + rotation, as affine thetas
    (output normalised -> input normalised)."""
    area = torch.empty(b, device=dev).uniform_(0.2, 1.0)
    logr = torch.empty(b, device=dev).uniform_(math.log(3 / 4), math.log(4 / 3))
    r = logr.exp()
    # crop size in normalised units of the tile (tile spans 2 units each axis)
    cw = (area * r * (h / w)).sqrt().clamp(max=1.0) * 2  # fraction of width, x2
    ch = (area / r * (w / h)).sqrt().clamp(max=1.0) * 2
    # keep square output aspect roughly: fine for a probe
    cx = (torch.rand(b, device=dev) * 2 - 1) * (1 - cw / 2)
    cy = (torch.rand(b, device=dev) * 2 - 1) * (1 - ch / 2)
    flip = torch.where(torch.rand(b, device=dev) < 0.5, -1.0, 1.0)
    a = (torch.rand(b, device=dev) * 2 - 1) * math.radians(rot)
    c, s = a.cos(), a.sin()
    A = torch.zeros(b, 2, 2, device=dev)
    A[:, 0, 0] = cw / 2 * c * flip
    A[:, 0, 1] = -cw / 2 * s
    A[:, 1, 0] = ch / 2 * s * flip
    A[:, 1, 1] = ch / 2 * c
    t = torch.stack([cx, cy], 1)
    return A, t


def make_views(x, size, rot):
    b, _, h, w = x.shape
    A, t = view_thetas(b, h, w, rot)
    theta = torch.cat([A, t[:, :, None]], 2)
    grid = F.affine_grid(theta, [b, 3, size, size], align_corners=False)
    v = F.grid_sample(x, grid, mode='bilinear', padding_mode='reflection', align_corners=False)
    # photometric: brightness, contrast, saturation (p 0.8), grayscale (p 0.2)
    jit = (torch.rand(b, 1, 1, 1, device=dev) < 0.8).float()
    br = 1 + jit * (torch.rand(b, 1, 1, 1, device=dev) * 0.8 - 0.4)
    co = 1 + jit * (torch.rand(b, 1, 1, 1, device=dev) * 0.8 - 0.4)
    sa = 1 + jit * (torch.rand(b, 1, 1, 1, device=dev) * 0.8 - 0.4)
    v = (v * br).clamp(0, 1)
    gray = (v * torch.tensor([0.299, 0.587, 0.114], device=dev).view(1, 3, 1, 1)).sum(1, keepdim=True)
    v = ((v - gray.mean((2, 3), keepdim=True)) * co + gray.mean((2, 3), keepdim=True)).clamp(0, 1)
    gray = (v * torch.tensor([0.299, 0.587, 0.114], device=dev).view(1, 3, 1, 1)).sum(1, keepdim=True)
    v = ((v - gray) * sa + gray).clamp(0, 1)
    g = (torch.rand(b, 1, 1, 1, device=dev) < 0.2).float()
    gray = (v * torch.tensor([0.299, 0.587, 0.114], device=dev).view(1, 3, 1, 1)).sum(1, keepdim=True)
    v = v * (1 - g) + gray * g
    return (v - MEAN) / STD, A, t


def correspond(A1, t1, A2, t2, k):
    """K points per image in view-1 normalised coords and their view-2 coords (mask: inside v2)."""
    b = A1.shape[0]
    u1 = torch.rand(b, 4 * k, 2, device=dev) * 1.8 - 0.9
    src = torch.einsum('bij,bnj->bni', A1, u1) + t1[:, None]
    u2 = torch.einsum('bij,bnj->bni', torch.linalg.inv(A2), src - t2[:, None])
    ok = (u2.abs() < 0.9).all(2)
    score = ok.float() + torch.rand(b, 4 * k, device=dev) * 0.5
    idx = score.topk(k, 1).indices
    g = lambda z: torch.gather(z, 1, idx[:, :, None].expand(-1, -1, 2))
    return g(u1), g(u2), torch.gather(ok, 1, idx)


class Encoder(nn.Module):
    def __init__(self, dense_dim=64):
        super().__init__()
        self.backbone = ResNet('resnet18')
        self.head = nn.Sequential(nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 128))
        self.dhead = nn.Sequential(nn.Linear(64 + 128, 256), nn.ReLU(), nn.Linear(256, dense_dim))

    def taps(self, x, splits, full=True):
        outs = []
        for chunk in torch.tensor_split(x, splits):
            if full:
                outs.append(self.backbone(chunk))
            else:
                bb = self.backbone
                y = F.max_pool2d(F.relu(bb.bn1(bb.conv1(chunk))), 3, 2, 1)
                c2 = bb.layer1(y)
                c3 = bb.layer2(c2)
                outs.append({'conv2_x': c2, 'conv3_x': c3})
        return {k: torch.cat([o[k] for o in outs]) for k in outs[0]}

    def glob(self, taps):
        return F.normalize(self.head(taps['conv5_x'].mean((2, 3))), dim=1)

    def dense(self, taps, u):
        g = u[:, None]  # [B,1,K,2]
        f = torch.cat([F.grid_sample(taps[n], g, align_corners=False)[:, :, 0].transpose(1, 2) for n in ('conv2_x', 'conv3_x')], 2)
        return F.normalize(self.dhead(f), dim=2)  # [B,K,D]


def dense_nce(f1, f2, ok, tau, symmetric_within=True):
    """Eq. 7 of paper 003: positives f1[i]<->f2[i]; negatives all other points of both views."""
    b, k, d = f1.shape
    a, c = f1.reshape(-1, d), f2.reshape(-1, d)
    m = ok.reshape(-1)
    a, c = a[m], c[m]
    n = a.shape[0]
    eye = torch.eye(n, device=dev, dtype=torch.bool)
    loss = 0
    for p, q in ((a, c), (c, a)):
        cross = p @ q.t() / tau
        within = (p @ p.t() / tau).masked_fill(eye, -1e9) if symmetric_within else None
        logits = torch.cat([cross, within], 1) if within is not None else cross
        loss = loss + F.cross_entropy(logits, torch.arange(n, device=dev))
    return loss / 2


def pretrain(tiles, variant, steps, seed, size=64, batch=32, queue=1024, lr=0.03, m=0.99, tau=0.07, dtau=0.1, k=32, lam=1.0, rot=0, log=None):
    torch.manual_seed(seed)
    q_enc = init_encoder(seed).to(dev)
    k_enc = copy.deepcopy(q_enc)
    for p in k_enc.parameters():
        p.requires_grad = False
    use_moco = 'moco' in variant
    use_dense = 'dense' in variant
    params = list(q_enc.backbone.parameters())
    if use_moco:
        params += list(q_enc.head.parameters())
    if use_dense:
        params += list(q_enc.dhead.parameters())
    opt = torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=1e-4)
    qbuf = F.normalize(torch.randn(queue, 128, device=dev), dim=1)
    ptr = 0
    warm = max(1, steps // 10)
    hist = []
    for step in range(steps):
        g_lr = lr * (step + 1) / warm if step < warm else 0.5 * lr * (1 + math.cos(math.pi * (step - warm) / max(1, steps - warm)))
        for gr in opt.param_groups:
            gr['lr'] = g_lr
        idx = torch.randint(0, tiles.shape[0], (batch,), device=dev)
        x = tiles[idx].float() / 255
        v1, A1, t1 = make_views(x, size, rot)
        v2, A2, t2 = make_views(x, size, rot)
        loss = 0
        parts = {}
        if use_moco:
            with torch.no_grad():
                for pq, pk in zip(q_enc.state_dict().values(), k_enc.state_dict().values()):
                    if pk.is_floating_point():
                        pk.mul_(m).add_(pq, alpha=1 - m)
                sh = torch.randperm(batch, device=dev)
                kt = k_enc.taps(v2[sh], 4)
                kt = {n: z[torch.argsort(sh)] for n, z in kt.items()}
                kk = k_enc.glob(kt)
            qt = q_enc.taps(v1, 4)
            qq = q_enc.glob(qt)
            logits = torch.cat([(qq * kk).sum(1, keepdim=True), qq @ qbuf.clone().t()], 1) / tau
            lm = F.cross_entropy(logits, torch.zeros(batch, dtype=torch.long, device=dev))
            parts['moco'] = lm.item()
            loss = loss + lm
            with torch.no_grad():
                rows = (torch.arange(batch, device=dev) + ptr) % queue
                qbuf[rows] = kk
                ptr = (ptr + batch) % queue
            if use_dense:
                u1, u2, ok = correspond(A1, t1, A2, t2, k)
                fq = q_enc.dense(qt, u1)
                with torch.no_grad():
                    fk = k_enc.dense(kt, u2)
                ld = dense_nce(fq, fk, ok, dtau, symmetric_within=False)
                parts['dense'] = ld.item()
                loss = loss + lam * ld
        else:  # dense only: both views through the query encoder, stem..layer2 only
            u1, u2, ok = correspond(A1, t1, A2, t2, k)
            t_1 = q_enc.taps(v1, 1, full=False)
            t_2 = q_enc.taps(v2, 1, full=False)
            ld = dense_nce(q_enc.dense(t_1, u1), q_enc.dense(t_2, u2), ok, dtau)
            parts['dense'] = ld.item()
            loss = ld
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        hist.append(parts)
    return q_enc.backbone, hist


def init_encoder(seed):
    torch.manual_seed(seed)
    e = Encoder()
    for mod in e.modules():
        if isinstance(mod, nn.Conv2d):
            nn.init.kaiming_normal_(mod.weight, mode='fan_out', nonlinearity='relu')
    return e


def finetune(backbone_state, data, regime, subset, seed, steps=300):
    files = [it['file'] for it in json.load(open(os.path.join(data, 'labels.json')))['items']]
    pool, test_files = files[:100], files[100:140]
    order = pool[:]
    random.Random(subset).shuffle(order)
    size, crop = (256, 128) if regime == 'frames' else (96, 96)
    train, labels = H.load(data, set(order[:20]), size)
    test, _ = H.load(data, set(test_files), size)
    kpts = len(labels['names'])
    perm = list(range(kpts))
    for p, q in labels.get('flipPairs', []):
        perm[p], perm[q] = q, p
    perm = np.array(perm)
    torch.manual_seed(seed)
    rng = random.Random(seed)
    net = H.HeatmapNet(kpts)
    if backbone_state is not None:
        missing = net.load_state_dict({n: v for n, v in backbone_state.items() if n.split('.')[0] in ('conv1', 'bn1', 'layer1', 'layer2')}, strict=False)
    net = net.to(dev)
    decay = [p for p in net.parameters() if p.dim() == 4]
    rest = [p for p in net.parameters() if p.dim() != 4]
    opt = torch.optim.Adam([{'params': decay, 'weight_decay': 1e-4}, {'params': rest, 'weight_decay': 0}], lr=1e-3)
    order_i = []
    net.train()
    for s in range(steps):
        while len(order_i) < 8:
            pp = list(range(len(train)))
            rng.shuffle(pp)
            order_i += pp
        idx, order_i = order_i[:8], order_i[8:]
        for g in opt.param_groups:
            g['lr'] = 0.5 * 1e-3 * (1 + math.cos(math.pi * s / steps))
        x, t, mk = H.make_batch(rng, train, idx, size, crop, 1.5, perm)
        loss = H.spatial_ce_loss(net(x.to(dev)), t.to(dev), mk.to(dev))
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    errs = []
    with torch.no_grad():
        for i in range(0, len(test), 20):
            chunk = test[i:i + 20]
            coords = H.decode(net(((torch.stack([e['img'] for e in chunk]) - H.MEAN) / H.STD).to(dev)).cpu())
            for e, c in zip(chunk, coords):
                sx, sy, px, py = e['map']
                orig = np.stack([(c[:, 0] - px) / sx, (c[:, 1] - py) / sy], 1)
                for j in range(kpts):
                    if e['known'][j]:
                        errs.append(np.hypot(*(orig[j] - e['orig'][j])))
    return float(np.mean(errs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--regime', default='frames')
    ap.add_argument('--variant', default='random')
    ap.add_argument('--steps', type=int, default=250)
    ap.add_argument('--subsets', type=int, default=3)
    ap.add_argument('--seeds', type=int, default=2)
    ap.add_argument('--ft-steps', type=int, default=300)
    ap.add_argument('--lr', type=float, default=0.03)
    ap.add_argument('--lam', type=float, default=1.0)
    ap.add_argument('--rot', type=float, default=0)
    ap.add_argument('--size', type=int, default=64)
    ap.add_argument('--unlabeled', required=True, help='folder of unlabeled images')
    ap.add_argument('--labeled', required=True, help='dataset folder (images/, labels.json)')
    ap.add_argument('--modes', default='as-is,norm,stem')
    ap.add_argument('--batch', type=int, default=32)
    ap.add_argument('--k', type=int, default=32)
    a = ap.parse_args()
    torch.set_num_threads(2)
    t0 = time.time()
    info = {}
    if a.variant == 'random':
        state = init_encoder(7).backbone.state_dict()
    else:
        tiles = load_tiles(a.unlabeled)
        bb, hist = pretrain(tiles, a.variant, a.steps, 7, size=a.size, lr=a.lr, lam=a.lam, rot=a.rot, batch=a.batch, k=a.k)
        state = {n: v.cpu() for n, v in bb.state_dict().items()}
        for key in hist[0]:
            vals = [h[key] for h in hist]
            info[key] = [round(float(np.mean(vals[i:i + max(1, len(vals) // 5)])), 3) for i in range(0, len(vals), max(1, len(vals) // 5))]
    tp = time.time() - t0
    init = init_encoder(7).backbone.state_dict()
    norms = {}
    for mode in (a.modes.split(',') if a.variant != 'random' else ['as-is']):
        st = transfer(state, init, mode)
        if mode == 'as-is':
            for n, v in st.items():
                if v.dim() == 4 and n.split('.')[0] in ('conv1', 'layer1', 'layer2'):
                    norms[n] = [round(float(init[n].norm()), 2), round(float(v.norm()), 2)]
        errs = {}
        for s in range(a.subsets):
            for sd in range(a.seeds):
                errs[f'{s}/{sd}'] = round(finetune(st, a.labeled, a.regime, s, 100 + sd, a.ft_steps), 2)
        print(json.dumps(dict(regime=a.regime, variant=a.variant, mode=mode, batch=a.batch, k=a.k, steps=a.steps, lr=a.lr, lam=a.lam, rot=a.rot, pretrainS=round(tp, 1), totalS=round(time.time() - t0, 1), loss=info, errs=errs, mean=round(float(np.mean(list(errs.values()))), 2))), flush=True)
    print(json.dumps(dict(norms=norms)))


def transfer(state, init, mode):
    """as-is; norm: every conv kernel rescaled to its random-init norm (BN follows every conv, so
    the function is unchanged once the running statistics are rescaled too); stem: stem reset."""
    st = {n: v.clone() for n, v in state.items()}
    if mode == 'stem':
        for n in st:
            if n.startswith('conv1.') or n.startswith('bn1.'):
                st[n] = init[n].clone()
    if mode.startswith('norm'):
        for n, v in state.items():
            if v.dim() != 4:
                continue
            c = float(init[n].norm() / v.norm())
            st[n] = v * c
            bn = n.replace('conv', 'bn') if 'downsample' not in n else n[:-len('0.weight')] + '1.weight'
            base = bn[:-len('weight')]
            st[base + 'running_mean'] = state[base + 'running_mean'] * c
            st[base + 'running_var'] = state[base + 'running_var'] * c * c
    return st


if __name__ == '__main__':
    main()
