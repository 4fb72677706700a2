#!/usr/bin/env python3
"""PyTorch reference for `npm run bench`: the same conv and MLP VAEs as
src-worker/model, and (--scaled PLAN.json) the scaled conv VAE of the presets with the
discretized logistic mixture decoder, built from the app's conv plan (see ScaledConvVae).
Classic 28x28 (conv: two 4x4 stride-2 convolutions 32/64 channels, dense to the
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


# ---------------------------------------------------------------------------
# The scaled conv VAE (src-shared/conv.ts presets) with the discretized logistic
# mixture decoder (src-worker/objectives/logistic.ts), built from the plan the bench
# writes (--scaled SPEC.json): {image: {width, height, channels}, latent, hidden,
# plan: {channels, resBlocks, norm, grid}, head: {channels}, mixtureComponents}.
# Nothing of the architecture is re-derived here: stage widths, residual blocks, the
# layer norm and the decoder head's channels all come from the app's plan.
# ---------------------------------------------------------------------------

LOG_SCALE_MIN = -7.0
HALF_BIN = 1 / (2 * 255)
NORM_EPSILON = 1e-5


class PixelNorm(nn.Module):
    """Layer norm over each pixel's channels (dim 1 of NCHW), biased variance, then scale and shift."""

    def __init__(self, c):
        super().__init__()
        self.g = nn.Parameter(torch.ones(c))
        self.b = nn.Parameter(torch.zeros(c))

    def forward(self, x):
        mean = x.mean(dim=1, keepdim=True)
        var = (x - mean).pow(2).mean(dim=1, keepdim=True)
        return (x - mean) * torch.rsqrt(var + NORM_EPSILON) * self.g[None, :, None, None] + self.b[None, :, None, None]


class Residual(nn.Module):
    """x + 1×1(ReLU(3×3(x))) with a half-width hidden layer, as architectures.ts residualBlock."""

    def __init__(self, c):
        super().__init__()
        hidden = max(1, math.ceil(c / 2))
        self.a = nn.Conv2d(c, hidden, 3, 1, 1)
        self.b = nn.Conv2d(hidden, c, 1, 1, 0)

    def forward(self, x):
        return x + self.b(F.relu(self.a(x)))


class ScaledConvVae(nn.Module):
    def __init__(self, spec):
        super().__init__()
        image, plan = spec['image'], spec['plan']
        self.height, self.width, self.channels = image['height'], image['width'], image['channels']
        self.latent, self.hidden = spec['latent'], spec['hidden']
        self.K = spec['mixtureComponents']
        # What the encoder reads (the app's encoderInput): 'centred' is 2x − 1, as the app's first layer (x_centred) computes it.
        self.input = spec.get('encoderInput', 'unit')
        if self.input not in ('unit', 'centred'):
            raise SystemExit(f"encoderInput '{self.input}' is neither 'unit' nor 'centred'")
        chans, S = plan['channels'], len(plan['channels'])
        self.grid = plan['grid']
        if self.grid[0] * 2 ** S != self.height or self.grid[1] * 2 ** S != self.width:
            # TensorFlow's 'same' pads odd sides at the bottom and right only, and the decoder crops: not mirrored here.
            raise SystemExit(f"the reference takes images whose sides halve evenly at each of the {S} stages; {self.width}×{self.height} does not")
        if spec['head']['channels'] != 3 * self.K * self.channels:
            raise SystemExit(f"head of {spec['head']['channels']} channels is not a logistic mixture of {self.K} for {self.channels} channels")
        self.top = chans[-1]
        self.flat = self.grid[0] * self.grid[1] * self.top
        self.convs, self.norms = nn.ModuleList(), nn.ModuleList()
        c = self.channels
        for out in chans:
            self.convs.append(nn.Conv2d(c, out, 4, 2, 1))
            self.norms.append(PixelNorm(out) if plan['norm'] else nn.Identity())
            c = out
        self.res = nn.ModuleList(Residual(self.top) for _ in range(plan['resBlocks']))
        self.enc = nn.Linear(self.flat, self.hidden)
        self.head = nn.Linear(self.hidden, 2 * self.latent)
        self.dec = nn.Linear(self.latent, self.hidden)
        self.unflat = nn.Linear(self.hidden, self.flat)
        self.dres = nn.ModuleList(Residual(self.top) for _ in range(plan['resBlocks']))
        self.deconvs, self.dnorms = nn.ModuleList(), nn.ModuleList()
        for j in range(1, S + 1):
            last = j == S
            out = spec['head']['channels'] if last else chans[S - j - 1]
            self.deconvs.append(nn.ConvTranspose2d(chans[S - j], out, 4, 2, 1))
            self.dnorms.append(PixelNorm(out) if plan['norm'] and not last else nn.Identity())

    def encode(self, x):
        n = x.shape[0]
        # Flat rows are HWC (as the app packs images); convolutions take NCHW.
        y = x.view(n, self.height, self.width, self.channels).permute(0, 3, 1, 2)
        if self.input == 'centred':
            y = y * 2 - 1
        for conv, norm in zip(self.convs, self.norms):
            y = F.relu(norm(conv(y)))
        for block in self.res:
            y = block(y)
        e = F.relu(self.enc(y.reshape(n, -1)))
        mu, log_var = self.head(e).chunk(2, dim=1)
        return mu, log_var

    def decode(self, z):
        """Raw mixture parameters, [N, D, 3, K] in the app's order (sub-pixel, block, component)."""
        n = z.shape[0]
        y = F.relu(self.unflat(F.relu(self.dec(z)))).view(n, self.top, self.grid[0], self.grid[1])
        for block in self.dres:
            y = block(y)
        for j, (deconv, norm) in enumerate(zip(self.deconvs, self.dnorms)):
            y = deconv(y)
            if j < len(self.deconvs) - 1:
                y = F.relu(norm(y))
        return y.permute(0, 2, 3, 1).reshape(n, self.height * self.width * self.channels, 3, self.K)


def load_scaled_weights(model, path):
    """The app's initial weights (JSON list of {name, shape, values}, names as in
    architectures.ts: conv1/f, norm1/g, res4a/f, enc/w, dres1a/f, deconv1/f, …) in
    PyTorch's layouts: HWIO conv filters to OIHW, tfjs' [k, k, out, in] transposed
    filters to [in, out, k, k], x·W dense weights transposed, and the HWC flattening of
    the deepest grid mapped onto PyTorch's CHW. Every app weight must be used once."""
    weights = {w['name']: torch.tensor(w['values'], dtype=torch.float32).view(*w['shape']) for w in json.load(open(path))}
    used = set()

    def take(name):
        used.add(name)
        if name not in weights:
            raise SystemExit(f'{path}: no weight {name} (the architectures diverge)')
        return weights[name]

    cells = model.grid[0] * model.grid[1]
    chw = torch.arange(model.flat)
    hwc_of_chw = (chw % cells) * model.top + chw // cells

    def conv(module, key):
        # HWIO → OIHW; tfjs' transposed [k, k, out, in] → PyTorch's [in, out, k, k]: the same permutation.
        module.weight.copy_(take(f'{key}/f').permute(3, 2, 0, 1))
        module.bias.copy_(take(f'{key}/b'))

    def norm(module, key):
        module.g.copy_(take(f'{key}/g'))
        module.b.copy_(take(f'{key}/b'))

    def res_key(kind, k, n):
        return f'{kind}{k}' if n == 1 else f'{kind}{k}_{n}'

    S = len(model.convs)
    with torch.no_grad():
        for i, (c, nm) in enumerate(zip(model.convs, model.norms)):
            conv(c, f'conv{i + 1}')
            if isinstance(nm, PixelNorm):
                norm(nm, f'norm{i + 1}')
        for n, block in enumerate(model.res):
            conv(block.a, res_key('res', S, n + 1) + 'a')
            conv(block.b, res_key('res', S, n + 1) + 'b')
        model.enc.weight.copy_(take('enc/w')[hwc_of_chw].t())
        model.enc.bias.copy_(take('enc/b'))
        for name in ('head', 'dec'):
            getattr(model, name).weight.copy_(take(f'{name}/w').t())
            getattr(model, name).bias.copy_(take(f'{name}/b'))
        model.unflat.weight.copy_(take('unflat/w')[:, hwc_of_chw].t())
        model.unflat.bias.copy_(take('unflat/b')[hwc_of_chw])
        for n, block in enumerate(model.dres):
            conv(block.a, res_key('dres', 1, n + 1) + 'a')
            conv(block.b, res_key('dres', 1, n + 1) + 'b')
        for j, (d, nm) in enumerate(zip(model.deconvs, model.dnorms)):
            conv(d, f'deconv{j + 1}')
            if isinstance(nm, PixelNorm):
                norm(nm, f'dnorm{j + 1}')
    unused = sorted(set(weights) - used)
    if unused:
        raise SystemExit(f'{path}: app weights with no place in the reference: {", ".join(unused)} (the architectures diverge)')
    return model


def logistic_mixture_ll(x, params):
    """log p(x|z) per image: Σ over sub-pixels of log Σ_k π_k P_k(x), x = level/255 on [0, 1],
    bins of half-width 1/510, the first and last reaching to ∓∞. The inner bins use
    log(σ(a) − σ(b)) = d + log(−expm1(−2d)) − |a|/2 − |b|/2 − softplus(−|a|) − softplus(−|b|),
    d = (a − b)/2, which does not cancel in float32 in the tails."""
    logits, loc, log_scale = params.unbind(dim=2)
    loc = torch.sigmoid(loc)
    inv = torch.exp(-torch.clamp(log_scale, min=LOG_SCALE_MIN))
    x = x.unsqueeze(-1)
    centred = x - loc
    plus = inv * (centred + HALF_BIN)
    minus = inv * (centred - HALF_BIN)
    abs_plus, abs_minus = plus.abs(), minus.abs()
    tail_plus, tail_minus = F.softplus(-abs_plus), F.softplus(-abs_minus)
    log_cdf_plus = plus - F.relu(plus) - tail_plus
    log_one_minus_cdf_minus = -(F.relu(minus) + tail_minus)
    d = inv * HALF_BIN
    inner = d + torch.log(-torch.expm1(-2 * d)) - 0.5 * (abs_plus + abs_minus) - (tail_plus + tail_minus)
    log_probs = torch.where(x < HALF_BIN, log_cdf_plus, torch.where(x > 1 - HALF_BIN, log_one_minus_cdf_minus, inner))
    if logits.shape[-1] == 1:
        per_pixel = log_probs.squeeze(-1)
    else:
        per_pixel = torch.logsumexp(F.log_softmax(logits, dim=-1) + log_probs, dim=-1)
    return per_pixel.sum(dim=1)


def scaled_loss(model, x, eps):
    mu, log_var = model.encode(x)
    z = mu + torch.exp(0.5 * log_var) * eps
    kl = 0.5 * (mu.pow(2) + log_var.exp() - 1 - log_var).sum(dim=1)
    return (kl - logistic_mixture_ll(x, model.decode(z))).mean()


def read_images(path):
    """The bench's image file: u32 train count, u32 test count, then uint8 levels (HWC rows, train first)."""
    raw = np.fromfile(path, dtype=np.uint8)
    n_train, n_test = int.from_bytes(raw[:4].tobytes(), 'little'), int.from_bytes(raw[4:8].tobytes(), 'little')
    levels = torch.from_numpy(raw[8:].astype(np.float32) / 255).view(n_train + n_test, -1)
    return levels[:n_train], levels[n_train:]


def scaled_model(spec, init):
    model = ScaledConvVae(spec)
    if init:
        load_scaled_weights(model, init)
    return model


def scaled_same_steps(spec, init, data, eps_path, batch, steps):
    """Losses of the first `steps` Adam steps from the app's weights, on the first training
    images, with the app's noise: equal to float32 rounding when the models are the same."""
    torch.set_num_threads(1)
    train, _ = read_images(data)
    eps = torch.from_numpy(np.fromfile(eps_path, dtype=np.float32)).view(steps, batch, spec['latent'])
    model = scaled_model(spec, init)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for s in range(steps):
        opt.zero_grad(set_to_none=True)
        loss = scaled_loss(model, train[s * batch:(s + 1) * batch], eps[s])
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def scaled_throughput(spec, init, batch, seconds, threads):
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = scaled_model(spec, init)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randint(0, 256, (batch, spec['image']['width'] * spec['image']['height'] * spec['image']['channels'])).float() / 255

    def step():
        opt.zero_grad(set_to_none=True)
        scaled_loss(model, x, torch.randn(batch, spec['latent'])).backward()
        opt.step()

    for _ in range(2):
        step()
    steps, start = 0, time.perf_counter()
    while steps < 2 or time.perf_counter() - start < seconds:
        step()
        steps += 1
    return steps * batch / (time.perf_counter() - start)


@torch.no_grad()
def scaled_iwae_bits(model, test, k, per_batch=16):
    """−mean log (1/k) Σ w over the test images, in bits/dim (a discrete likelihood: no dequantization term)."""
    total = 0.0
    for start in range(0, test.shape[0], per_batch):
        xb = test[start:start + per_batch]
        n = xb.shape[0]
        mu, log_var = model.encode(xb)
        eps = torch.randn(n, k, mu.shape[1])
        z = (mu[:, None, :] + torch.exp(0.5 * log_var)[:, None, :] * eps).reshape(n * k, -1)
        ll = logistic_mixture_ll(xb.repeat_interleave(k, dim=0), model.decode(z)).view(n, k)
        log_w = (ll - 0.5 * (z.view(n, k, -1).pow(2) - eps.pow(2) - log_var[:, None, :]).sum(dim=2)).double()
        total += (torch.logsumexp(log_w, dim=1) - math.log(k)).sum().item()
    return -total / test.shape[0] / (test.shape[1] * math.log(2))


def scaled_quality(spec, init, data, batch, epochs, k, threads, replay):
    """From the app's weights, the app's batch order and noise (replay: int32 orders per
    epoch, float32 noise), `epochs` of Adam 1e-3, then the test IWAE bound in bits/dim."""
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    train, test = read_images(data)
    n_train = train.shape[0]
    model = scaled_model(spec, init)
    orders = torch.from_numpy(np.fromfile(replay[0], dtype=np.int32).astype(np.int64)).view(epochs, n_train)
    eps = torch.from_numpy(np.fromfile(replay[1], dtype=np.float32))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    latent, used, last = spec['latent'], 0, float('nan')
    start = time.perf_counter()
    for epoch in range(epochs):
        for s in range(0, n_train, batch):
            x = train[orders[epoch][s:s + batch]]
            noise = eps[used:used + x.shape[0] * latent].view(x.shape[0], latent)
            used += x.shape[0] * latent
            opt.zero_grad(set_to_none=True)
            loss = scaled_loss(model, x, noise)
            loss.backward()
            opt.step()
            last = loss.item()
    train_seconds = time.perf_counter() - start
    model.eval()
    t1 = time.perf_counter()
    bits = scaled_iwae_bits(model, test, k)
    return {'bitsPerDim': bits, 'trainSeconds': train_seconds, 'evalSeconds': time.perf_counter() - t1, 'lastLoss': last}


def scaled_main(a):
    spec = json.load(open(a.scaled))
    sections = a.sections.split(',')
    out = {'torch': torch.__version__}
    if 'check' in sections:
        out['sameSteps'] = scaled_same_steps(spec, a.init, a.data, a.eps, a.batch, a.check_steps)
    if 'throughput' in sections:
        out['imgPerSec1Thread'] = scaled_throughput(spec, a.init, a.batch, a.seconds, 1)
        out['imgPerSec2Threads'] = scaled_throughput(spec, a.init, a.batch, a.seconds, 2)
    if 'quality' in sections:
        out['quality'] = scaled_quality(spec, a.init, a.data, a.batch, a.epochs, a.k, a.threads, (a.replay_order, a.replay_eps))
    print(json.dumps(out))


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
    p.add_argument('--scaled', help='the scaled conv VAE with a logistic mixture decoder: its plan, JSON (sections check, throughput, quality)')
    p.add_argument('--threads', type=int, default=1, help='PyTorch threads of the scaled quality run')
    p.add_argument('--thread-counts', default='1,2', help='PyTorch thread counts the throughput section measures (the scaling curve)')
    a = p.parse_args()
    if a.scaled:
        scaled_main(a)
        return
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
