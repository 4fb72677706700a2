#!/usr/bin/env python3
"""PyTorch reference for `npm run bench`: the same conv and MLP VAEs as
src-worker/model (conv: two 4x4 stride-2 convolutions 32/64 channels, dense to the
hidden size, (mu, log var) head; mirrored decoder with transposed convolutions; MLP:
D-h-h-2d / d-h-h-D), Bernoulli decoder, analytic KL, Adam (PyTorch's defaults, the
formulation the engine uses). Prints one JSON object.

  check       the first Adam steps from identical weights, batches and noise
  throughput  img/s of training steps at a batch size, for each of --thread-counts (1 and 2)
  decode      single-image decode latency (ms, median)
  quality     from the engine's own initial weights, train on the digits file the
              bench wrote, then the IWAE bound on its test images (same budget, same
              k as the bench): once with PyTorch's own shuffling and noise, once
              replaying the engine's batch order and noise (--replay-*)

Run with Debian's python3-torch: /usr/bin/python3 scripts/torch_vae_reference.py ...
"""
import argparse
import json
import math
import time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F


class ConvVae(nn.Module):
    def __init__(self, side, channels, hidden, latent):
        super().__init__()
        self.side, self.channels, self.latent = side, channels, latent
        q = side // 4
        self.flat = q * q * 64
        # padding 1 with kernel 4 / stride 2 is TensorFlow's 'same' for even sides.
        self.conv1 = nn.Conv2d(channels, 32, 4, 2, 1)
        self.conv2 = nn.Conv2d(32, 64, 4, 2, 1)
        self.enc = nn.Linear(self.flat, hidden)
        self.head = nn.Linear(hidden, 2 * latent)
        self.dec = nn.Linear(latent, hidden)
        self.unflat = nn.Linear(hidden, self.flat)
        self.deconv1 = nn.ConvTranspose2d(64, 32, 4, 2, 1)
        self.deconv2 = nn.ConvTranspose2d(32, channels, 4, 2, 1)

    def encode(self, x):
        n = x.shape[0]
        a = F.relu(self.conv1(x.view(n, self.channels, self.side, self.side)))
        b = F.relu(self.conv2(a))
        e = F.relu(self.enc(b.reshape(n, -1)))
        mu, log_var = self.head(e).chunk(2, dim=1)
        return mu, log_var

    def decode(self, z):
        n = z.shape[0]
        q = self.side // 4
        a = F.relu(self.dec(z))
        b = F.relu(self.unflat(a)).view(n, 64, q, q)
        c = F.relu(self.deconv1(b))
        return self.deconv2(c).reshape(n, -1)


class MlpVae(nn.Module):
    def __init__(self, pixels, hidden, latent):
        super().__init__()
        self.latent = latent
        self.encoder = nn.Sequential(nn.Linear(pixels, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 2 * latent))
        self.decoder = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, pixels))

    def encode(self, x):
        return self.encoder(x).chunk(2, dim=1)

    def decode(self, z):
        return self.decoder(z)


def init_like_engine(model):
    """The engine's initialization (src-worker/model/params.ts): normal weights with
    He scaling sqrt(2/fan_in) before a ReLU, Glorot sqrt(2/(fan_in+fan_out)) for linear
    outputs, zero biases; a transposed conv's fan counts k²/s² taps per channel.
    PyTorch's default (Kaiming-uniform, a=√5) starts far smaller, which after a short
    budget alone moves the NLL by tens of nats."""
    linear_outputs = {'head', 'deconv2', 'encoder.4', 'decoder.4'}
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            fan_in, fan_out = module.in_features, module.out_features
        elif isinstance(module, nn.Conv2d):
            k2 = module.kernel_size[0] * module.kernel_size[1]
            fan_in, fan_out = k2 * module.in_channels, k2 * module.out_channels
        elif isinstance(module, nn.ConvTranspose2d):
            taps = module.kernel_size[0] * module.kernel_size[1] // (module.stride[0] * module.stride[1])
            fan_in, fan_out = taps * module.in_channels, taps * module.out_channels
        else:
            continue
        std = math.sqrt(2 / (fan_in + fan_out)) if name in linear_outputs else math.sqrt(2 / fan_in)
        nn.init.normal_(module.weight, 0.0, std)
        nn.init.zeros_(module.bias)
    return model


def make_model(kind, side, hidden, latent):
    model = ConvVae(side, 1, hidden, latent) if kind == 'conv' else MlpVae(side * side, hidden, latent)
    return init_like_engine(model)


def load_engine_weights(model, path):
    """Start from the engine's own initial weights (a JSON list of {name, shape, values}
    written by the bench), converted from TensorFlow layouts: HWIO conv filters, x·W
    dense weights, and HWC flattening of the 7×7×64 feature map where PyTorch's is CHW.
    With the same weights, batches and noise, one training step of either framework
    gives the same loss to float32 rounding; checked by hand when this was written."""
    weights = {w['name']: torch.tensor(w['values'], dtype=torch.float32).view(*w['shape']) for w in json.load(open(path))}
    q = model.side // 4
    chw = torch.arange(q * q * 64)
    hwc_of_chw = (chw % (q * q)) * 64 + chw // (q * q)
    with torch.no_grad():
        for name in ('conv1', 'conv2', 'deconv1', 'deconv2'):
            getattr(model, name).weight.copy_(weights[f'{name}/f'].permute(3, 2, 0, 1))
            getattr(model, name).bias.copy_(weights[f'{name}/b'])
        model.enc.weight.copy_(weights['enc/w'][hwc_of_chw].t())
        model.enc.bias.copy_(weights['enc/b'])
        for name in ('head', 'dec'):
            getattr(model, name).weight.copy_(weights[f'{name}/w'].t())
            getattr(model, name).bias.copy_(weights[f'{name}/b'])
        model.unflat.weight.copy_(weights['unflat/w'][:, hwc_of_chw].t())
        model.unflat.bias.copy_(weights['unflat/b'][hwc_of_chw])
    return model


def bernoulli_log_likelihood(x, logits):
    # Σ x·l − softplus(l): the logits form, never log(sigmoid).
    return (x * logits - F.softplus(logits)).sum(dim=1)


def loss_of(model, x, eps=None):
    mu, log_var = model.encode(x)
    z = mu + torch.exp(0.5 * log_var) * (torch.randn_like(mu) if eps is None else eps)
    ll = bernoulli_log_likelihood(x, model.decode(z))
    kl = 0.5 * (mu.pow(2) + log_var.exp() - 1 - log_var).sum(dim=1)
    return (kl - ll).mean()


def throughput(kind, side, hidden, latent, batch, seconds, threads):
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = make_model(kind, side, hidden, latent)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = (torch.rand(batch, side * side) > 0.5).float()

    def step():
        opt.zero_grad(set_to_none=True)
        loss_of(model, x).backward()
        opt.step()

    for _ in range(3):
        step()
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        steps += 1
    return steps * batch / (time.perf_counter() - start)


def decode_latency_ms(kind, side, hidden, latent, repeats=300):
    torch.set_num_threads(1)
    model = make_model(kind, side, hidden, latent).eval()
    z = torch.randn(1, latent)
    times = []
    with torch.no_grad():
        for _ in range(20):
            torch.sigmoid(model.decode(z))
        for _ in range(repeats):
            t0 = time.perf_counter()
            torch.sigmoid(model.decode(z))
            times.append((time.perf_counter() - t0) * 1000)
    return float(np.median(times))


@torch.no_grad()
def iwae_nll(model, x, k, chunk_rows=2048):
    """−mean log (1/k) Σ w, log w = log p(x|z) + log p(z) − log q(z|x)."""
    total = 0.0
    per_batch = 16
    for start in range(0, x.shape[0], per_batch):
        xb = x[start:start + per_batch]
        n = xb.shape[0]
        mu, log_var = model.encode(xb)
        weights = []
        per_chunk = max(1, min(k, chunk_rows // n))
        done = 0
        while done < k:
            s = min(per_chunk, k - done)
            eps = torch.randn(n, s, mu.shape[1])
            z = mu[:, None, :] + torch.exp(0.5 * log_var)[:, None, :] * eps
            logits = model.decode(z.reshape(n * s, -1))
            ll = bernoulli_log_likelihood(xb.repeat_interleave(s, dim=0), logits).view(n, s)
            prior_over_q = -0.5 * (z.pow(2) - eps.pow(2) - log_var[:, None, :]).sum(dim=2)
            weights.append(ll + prior_over_q)
            done += s
        log_w = torch.cat(weights, dim=1).double()
        total += (torch.logsumexp(log_w, dim=1) - math.log(k)).sum().item()
    return -total / x.shape[0]


def quality(kind, data_path, side, hidden, latent, batch, epochs, k, threads, init=None, replay=None):
    """Train for `epochs`, then the test IWAE NLL. With `replay` (the engine's batch
    order, int32 per epoch, and its reparameterization noise, float32, as files) the run
    takes exactly the engine's steps; without it PyTorch's generator shuffles and draws."""
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    raw = np.fromfile(data_path, dtype=np.uint8)
    n_train, n_test = int.from_bytes(raw[:4].tobytes(), 'little'), int.from_bytes(raw[4:8].tobytes(), 'little')
    pixels = torch.from_numpy(raw[8:].astype(np.float32)).view(n_train + n_test, side * side)
    train, test = pixels[:n_train], pixels[n_train:]
    model = make_model(kind, side, hidden, latent)
    if init:
        load_engine_weights(model, init)
    orders = eps = None
    if replay:
        orders = torch.from_numpy(np.fromfile(replay[0], dtype=np.int32).astype(np.int64)).view(epochs, n_train)
        eps = torch.from_numpy(np.fromfile(replay[1], dtype=np.float32))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    used = 0
    start = time.perf_counter()
    for epoch in range(epochs):
        order = orders[epoch] if replay else torch.randperm(n_train)
        for s in range(0, n_train, batch):
            x = train[order[s:s + batch]]
            noise = None
            if replay:
                noise = eps[used:used + x.shape[0] * latent].view(x.shape[0], latent)
                used += x.shape[0] * latent
            opt.zero_grad(set_to_none=True)
            loss_of(model, x, noise).backward()
            opt.step()
    train_seconds = time.perf_counter() - start
    model.eval()
    return {'nll': iwae_nll(model, test, k), 'trainSeconds': train_seconds}


def same_steps(data_path, eps_path, init, side, hidden, latent, batch, steps):
    """Losses of the first `steps` Adam steps from the engine's weights on the first
    training digits, with the engine's reparameterization noise: the two frameworks
    must agree to float32 rounding, which shows the reference is the same model."""
    torch.set_num_threads(1)
    raw = np.fromfile(data_path, dtype=np.uint8)
    pixels = torch.from_numpy(raw[8:].astype(np.float32)).view(-1, side * side)
    eps = torch.from_numpy(np.fromfile(eps_path, dtype=np.float32)).view(steps, batch, latent)
    model = load_engine_weights(make_model('conv', side, hidden, latent), init)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for s in range(steps):
        x = pixels[s * batch:(s + 1) * batch]
        opt.zero_grad(set_to_none=True)
        mu, log_var = model.encode(x)
        z = mu + torch.exp(0.5 * log_var) * eps[s]
        kl = 0.5 * (mu.pow(2) + log_var.exp() - 1 - log_var).sum(dim=1)
        loss = (kl - bernoulli_log_likelihood(x, model.decode(z))).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--side', type=int, default=28)
    p.add_argument('--hidden', type=int, default=256)
    p.add_argument('--latent', type=int, default=16)
    p.add_argument('--batch', type=int, default=128)
    p.add_argument('--seconds', type=float, default=4)
    p.add_argument('--data', help='digits file written by the bench (quality)')
    p.add_argument('--init', help="the engine's initial conv VAE weights (quality), JSON")
    p.add_argument('--eps', help="the engine's noise for the same-steps check, float32")
    p.add_argument('--check-steps', type=int, default=3)
    p.add_argument('--replay-order', help="the engine's batch order of the quality run, int32")
    p.add_argument('--replay-eps', help="the engine's noise of the quality run, float32")
    p.add_argument('--epochs', type=int, default=2)
    p.add_argument('--k', type=int, default=50)
    p.add_argument('--sections', default='throughput,decode,quality')
    p.add_argument('--thread-counts', default='1,2', help='PyTorch thread counts the throughput section measures (the scaling curve)')
    a = p.parse_args()
    sections = a.sections.split(',')
    out = {'torch': torch.__version__}
    for kind in ('conv', 'mlp'):
        entry = {}
        if 'throughput' in sections:
            by_threads = {t: throughput(kind, a.side, a.hidden, a.latent, a.batch, a.seconds, t)
                          for t in map(int, a.thread_counts.split(','))}
            entry['imgPerSecByThreads'] = {str(t): v for t, v in by_threads.items()}
            if 1 in by_threads:
                entry['imgPerSec1Thread'] = by_threads[1]
            if 2 in by_threads:
                entry['imgPerSec2Threads'] = by_threads[2]
        if 'decode' in sections:
            entry['decodeMs'] = decode_latency_ms(kind, a.side, a.hidden, a.latent)
        if 'quality' in sections and a.data and kind == 'conv':
            # One thread: on these machines two PyTorch threads were slower than one (see --sections throughput).
            entry['quality'] = quality(kind, a.data, a.side, a.hidden, a.latent, a.batch, a.epochs, a.k, 1, a.init)
            if a.replay_order and a.replay_eps:
                entry['qualityReplay'] = quality(kind, a.data, a.side, a.hidden, a.latent, a.batch, a.epochs, a.k, 1, a.init,
                                                 (a.replay_order, a.replay_eps))
        out[kind] = entry
    if 'check' in sections and a.data and a.init and a.eps:
        out['sameSteps'] = same_steps(a.data, a.eps, a.init, a.side, a.hidden, a.latent, a.batch, a.check_steps)
    print(json.dumps(out))


if __name__ == '__main__':
    main()
