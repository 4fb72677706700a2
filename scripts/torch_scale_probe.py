"""Probe for issue 19: does the logistic decoder learn faster with one learned scale per
colour channel (shared over pixels, as a sigma-VAE shares its variance) than with a scale
per sub-pixel read off the decoder's head (the app's)? The medium network without layer
norm (reference ScaledConvVae, PyTorch's own initial weights), latent 16, batch 16, Adam,
one thread, on 3 000 scenes dumped as raw HWC uint8 rows (`node scripts/make-scenes.mjs`,
then any PNG decoder; 2 700 train, 200 validation). Prints validation bits/dim (-ELBO on
the 0-255 scale), KL and the reconstruction's squared error every 250 steps and saves the
first 8 validation images with their reconstructions (the logistic's location) as .npy.

    env -u OPENBLAS_CORETYPE /usr/bin/python3 scripts/torch_scale_probe.py pixel|shared STEPS BATCH LR RAW_U8 OUT_DIR
"""
import sys, math, time, numpy as np, torch, torch.nn as nn, torch.nn.functional as F
sys.path.insert(0, __import__('os').path.dirname(__file__))
import torch_vae_reference as R
mode = sys.argv[1]          # 'pixel' | 'shared'
steps = int(sys.argv[2]); batch = int(sys.argv[3]); lr = float(sys.argv[4])
torch.set_num_threads(1); torch.manual_seed(1)
raw = np.fromfile(sys.argv[5], dtype=np.uint8).reshape(3000, 12288)
x_all = torch.from_numpy(raw.astype(np.float32) / 255)
train, val = x_all[:2700], x_all[2700:2900]
spec = {'image': {'height': 64, 'width': 64, 'channels': 3}, 'plan': {'channels': [16, 32, 64, 128], 'grid': [4, 4], 'norm': False, 'resBlocks': 1},
        'latent': 16, 'hidden': 256, 'mixtureComponents': 1, 'head': {'channels': 9}}
m = R.ScaledConvVae(spec)
shared = nn.Parameter(torch.full((3,), -2.0))
params = list(m.parameters()) + ([shared] if mode == 'shared' else [])
opt = torch.optim.Adam(params, lr=lr)
def params_of(z):
    p = m.decode(z)  # [N, D, 3, K]
    if mode == 'shared':
        ls = shared.repeat(4096).view(1, 12288, 1)  # HWC: channel varies fastest
        p = torch.stack([p[:, :, 0], p[:, :, 1], ls.expand(p.shape[0], 12288, 1)], dim=2)
    return p
def elbo(x, sample=True):
    mu, lv = m.encode(x)
    z = mu + torch.exp(0.5 * lv) * torch.randn_like(mu) if sample else mu
    kl = 0.5 * (mu.pow(2) + lv.exp() - 1 - lv).sum(1)
    ll = R.logistic_mixture_ll(x, params_of(z))
    return kl, -ll
t0 = time.time(); g = torch.Generator().manual_seed(2)
step = 0
while step < steps:
    perm = torch.randperm(2700, generator=g)
    for i in range(0, 2700 - batch + 1, batch):
        kl, nll = elbo(train[perm[i:i + batch]])
        loss = (kl + nll).mean()
        opt.zero_grad(); loss.backward(); opt.step(); step += 1
        if step % 250 == 0 or step == steps:
            with torch.no_grad():
                kv, nv = elbo(val)
                mu, _ = m.encode(val[:8]); rec = torch.sigmoid(params_of(mu)[:, :, 1, 0])
                mse = ((rec - val[:8]) ** 2).mean().item()
            bpd = (kv + nv).mean().item() / (12288 * math.log(2))
            print(f'{mode} step {step}: val {bpd:.3f} bits/dim, KL {kv.mean().item():.1f} nats, recon MSE {mse*255*255:.1f} (levels²), {time.time()-t0:.0f}s', flush=True)
            np.save(f'{sys.argv[6]}/rec-{mode}.npy', np.concatenate([val[:8].numpy(), rec.numpy()]))
        if step >= steps: break
