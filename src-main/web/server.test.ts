import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { connect } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { insertProjectAndDataset, insertRuns, tempDir, testCore } from '../core/testing';
import type { Core } from '../core/core';
import { startWebServer, type WebServer } from './server';

let dir: ReturnType<typeof tempDir>;
let core: Core;
let server: WebServer;
let base: string;

beforeEach(async () => {
  dir = tempDir();
  const rendererDir = join(dir.path, 'renderer');
  mkdirSync(join(rendererDir, 'assets'), { recursive: true });
  writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>VAE Studio</title>');
  writeFileSync(join(rendererDir, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(dir.path, 'secret.txt'), 'do not serve');
  core = testCore(join(dir.path, 'home'));
  server = await startWebServer(core, { rendererDir });
  base = `http://127.0.0.1:${server.port}`;
});
afterEach(async () => {
  await server.close();
  await core.close();
  dir.cleanup();
});

const api = (name: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${base}/api/${name}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${server.token}`, ...headers },
    body: JSON.stringify(body),
  });

describe('web folder browser route', () => {
  const folders = (body: unknown, headers: Record<string, string> = { authorization: `Bearer ${server.token}` }, method = 'POST') =>
    fetch(`${base}/web/folders`, { method, headers: { 'content-type': 'application/json', ...headers }, body: method === 'POST' ? JSON.stringify(body) : undefined });

  it('lists folder names and image counts for the token holder only, never file names or contents', async () => {
    mkdirSync(join(dir.path, 'data', 'digits'), { recursive: true });
    writeFileSync(join(dir.path, 'data', 'digits', 'a.png'), 'pixels');
    const anonymous = await folders({ path: join(dir.path, 'data') }, {});
    expect(anonymous.status).toBe(401);
    const wrong = await folders({ path: join(dir.path, 'data') }, { authorization: 'Bearer not-the-token' });
    expect(wrong.status).toBe(401);
    const answer = await folders({ path: join(dir.path, 'data') });
    expect(answer.status).toBe(200);
    const text = await answer.text();
    expect(JSON.parse(text)).toMatchObject({ ok: true, value: { path: join(dir.path, 'data'), folders: [{ name: 'digits', images: 1 }] } });
    expect(text).not.toMatch(/a\.png|pixels/);
  });

  it('refuses GET, a malformed body and a relative path with typed errors', async () => {
    expect((await folders(undefined, { authorization: `Bearer ${server.token}` }, 'GET')).status).toBe(405);
    const extra = await folders({ path: '/', recursive: true });
    expect(extra.status).toBe(400);
    expect(await extra.json()).toMatchObject({ ok: false, error: { code: 'invalid_input', details: { field: 'path' } } });
    const relative = await folders({ path: 'data' });
    expect(relative.status).toBe(400);
    expect(await relative.json()).toMatchObject({ ok: false, error: { code: 'invalid_input', details: { field: 'path' } } });
    const missing = await folders({ path: join(dir.path, 'nope') });
    expect(missing.status).toBe(404);
  });
});

describe('web adapter', () => {
  it('listens on loopback only and prints a URL carrying the token', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{20,}$/);
  });

  it('cannot be reached on any address but loopback', async () => {
    const { networkInterfaces } = await import('node:os');
    const { connect } = await import('node:net');
    const others = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a !== undefined && !a.internal && a.family === 'IPv4')
      .map((a) => a!.address);
    for (const host of [...others, '::1']) {
      const outcome = await new Promise<string>((resolve) => {
        const socket = connect({ host, port: server.port });
        socket.on('connect', () => {
          socket.destroy();
          resolve('connected');
        });
        socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      });
      expect(outcome, host).not.toBe('connected');
    }
  });

  it('answers API calls that carry the token', async () => {
    const response = await api('projects.create', { name: 'Web' });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ ok: true, value: { name: 'Web' } });
  });

  it('refuses calls without the token or with a wrong one, and writes nothing', async () => {
    for (const auth of [{}, { authorization: 'Bearer wrong' }] as Record<string, string>[]) {
      const response = await fetch(`${base}/api/projects.create`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...auth },
        body: JSON.stringify({ name: 'Intruder' }),
      });
      expect(response.status).toBe(401);
    }
    expect(await core.call('projects.list', {})).toEqual([]);
  });

  it('refuses calls from another origin even with the session cookie', async () => {
    const response = await api('projects.create', { name: 'Evil' }, { origin: 'https://evil.example' });
    expect(response.status).toBe(403);
    expect(await core.call('projects.list', {})).toEqual([]);
  });

  it('turns the launch token into an HttpOnly same-site cookie and serves the app with it', async () => {
    const login = await fetch(`${base}/?token=${server.token}`, { redirect: 'manual' });
    expect(login.status).toBe(302);
    const cookie = login.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const page = await fetch(`${base}/`, { headers: { cookie: cookie.split(';')[0]! } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('VAE Studio');
    const wrong = await fetch(`${base}/?token=nope`, { redirect: 'manual' });
    expect(wrong.status).toBe(401);
  });

  it('serves no file outside the renderer folder', async () => {
    const auth = { authorization: `Bearer ${server.token}` };
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/..%5csecret.txt', '/etc/passwd']) {
      const response = await fetch(`${base}${path}`, { headers: auth });
      expect(response.status, path).toBe(404);
    }
    expect((await fetch(`${base}/assets/app.js`, { headers: auth })).status).toBe(200);
  });

  it('returns typed validation errors with an HTTP 400', async () => {
    const response = await api('projects.create', { name: '' });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ ok: false, error: { code: 'invalid_input', details: { field: 'name' } } });
    const broken = await fetch(`${base}/api/projects.create`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.token}` },
      body: '{not json',
    });
    expect(broken.status).toBe(400);
  });

  it('streams events over an authenticated WebSocket and refuses an unauthenticated one', async () => {
    const refused = new WebSocket(`ws://127.0.0.1:${server.port}/events`);
    const refusedResult = await new Promise<string>((resolve) => {
      refused.on('error', () => resolve('error'));
      refused.on('open', () => resolve('open'));
    });
    expect(refusedResult).toBe('error');

    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/events`, { headers: { authorization: `Bearer ${server.token}` } });
    await new Promise((resolve, reject) => {
      ws.on('open', resolve);
      ws.on('error', reject);
    });
    const received = new Promise<unknown>((resolve) => ws.on('message', (data) => resolve(JSON.parse(String(data)))));
    await core.call('projects.create', { name: 'p' });
    const importing = core.handle('datasets.import', { projectId: 1, folder: join(dir.path, 'renderer'), size: 8, jobId: 'j' });
    expect(await received).toMatchObject({ event: 'dataset.progress', payload: { jobId: 'j' } });
    await importing;
    ws.close();
  });

  it('answers a request name that is not valid percent-encoding with 400, not 500', async () => {
    const response = await api('%E0%A4%A', {});
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ ok: false, error: { code: 'invalid_input', message: expect.stringContaining('%E0%A4%A') } });
  });

  it('redirects the token login only to a path on this server', async () => {
    for (const path of ['/.//evil.example/x', '//evil.example/x', '/\\evil.example/x', '/./\\/evil.example/x']) {
      const reply = await raw({ path: `${path}?token=${server.token}` });
      expect(reply.status, path).toBe(302);
      const location = reply.headers.location!;
      expect(location, path).toMatch(/^\/[^/\\]/);
      expect(new URL(location, base).origin, path).toBe(base);
    }
  });

  it('refuses requests addressed to another host name (DNS rebinding), even with the token', async () => {
    const auth = { authorization: `Bearer ${server.token}` };
    for (const host of ['evil.example', `evil.example:${server.port}`, `127.0.0.1:${server.port + 1}`, '127.0.0.1']) {
      const reply = await raw({ path: '/api/projects.list', method: 'POST', headers: { ...auth, host } });
      expect(reply.status, host).toBe(403);
    }
    for (const host of [`127.0.0.1:${server.port}`, `localhost:${server.port}`]) {
      expect((await raw({ path: '/api/projects.list', method: 'POST', headers: { ...auth, host } })).status, host).toBe(200);
    }
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/events`, { headers: { ...auth, host: 'evil.example' } });
    expect(await new Promise<string>((resolve) => (ws.on('error', () => resolve('error')), ws.on('open', () => resolve('open'))))).toBe('error');
    expect(await core.call('projects.list', {})).toEqual([]);
  });

  it('closes the event WebSocket on a message larger than the API needs', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/events`, { headers: { authorization: `Bearer ${server.token}` } });
    await new Promise((resolve, reject) => (ws.on('open', resolve), ws.on('error', reject)));
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    ws.send('x'.repeat(64 * 1024));
    expect(await closed).toBe(1009);
  });
});

describe('web adapter request bodies', () => {
  /** Sends a raw POST (head, then body pieces until an answer comes) and resolves with the answer's status line and body. */
  const post = (path: string, head: string, pieces: Iterable<Buffer>) =>
    new Promise<{ status: string; body: string; sent: number }>((resolve) => {
      let received = '';
      let sent = 0;
      const socket = connect(server.port, '127.0.0.1', () => {
        socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nAuthorization: Bearer ${server.token}\r\nContent-Type: application/json\r\n${head}\r\n`);
        const iterator = pieces[Symbol.iterator]();
        const next = (): void => {
          if (received) return;
          const piece = iterator.next();
          if (piece.done) return;
          sent += piece.value.length;
          if (socket.write(piece.value)) setImmediate(next);
          else socket.once('drain', next);
        };
        next();
      });
      socket.on('data', (d: Buffer) => (received += d.toString()));
      socket.on('close', () => {
        // The answer's JSON, whether sent with a length or in chunks.
        resolve({ status: received.split('\r\n')[0] ?? '', body: /\{.*\}/s.exec(received)?.[0] ?? '', sent });
      });
      socket.on('error', () => {});
    });
  function* chunked(total: number, piece = 64 * 1024): Generator<Buffer> {
    for (let sent = 0; sent < total; sent += piece) {
      const n = Math.min(piece, total - sent);
      yield Buffer.from(`${n.toString(16)}\r\n${' '.repeat(n)}\r\n`);
    }
    yield Buffer.from('0\r\n\r\n');
  }

  for (const path of ['/api/projects.create', '/web/folders']) {
    it(`answers a body declared larger than 1 MiB with 413 before reading it (${path}), and goes on answering`, async () => {
      const answer = await post(path, `Content-Length: ${1024 * 1024 + 1}\r\n`, []);
      expect(answer.status).toBe('HTTP/1.1 413 Payload Too Large');
      expect(JSON.parse(answer.body)).toMatchObject({ ok: false, error: { code: 'invalid_input', message: expect.stringContaining('larger than 1 MiB') as unknown, details: { field: '(body)' } } });
      expect((await api('projects.create', { name: 'After' })).status).toBe(200);
    });

    it(`answers a chunked body that grows past 1 MiB with 413 and stops reading it (${path})`, async () => {
      const answer = await post(path, 'Transfer-Encoding: chunked\r\n', chunked(64 * 1024 * 1024));
      expect(answer.status).toBe('HTTP/1.1 413 Payload Too Large');
      expect(JSON.parse(answer.body)).toMatchObject({ ok: false, error: { details: { field: '(body)' } } });
      // It answered at the bound, not after the 64 MiB the client had to send.
      expect(answer.sent).toBeLessThan(16 * 1024 * 1024);
    });
  }

  it('reads a body of exactly 1 MiB', async () => {
    const json = JSON.stringify({ name: 'Edge' });
    const body = json + ' '.repeat(1024 * 1024 - json.length);
    const answer = await post('/api/projects.create', `Content-Length: ${body.length}\r\nConnection: close\r\n`, [Buffer.from(body)]);
    expect(answer.status).toBe('HTTP/1.1 200 OK');
    expect(await core.call('projects.list', {})).toMatchObject([{ name: 'Edge' }]);
  });
});

describe('web adapter limits', () => {
  const slowCore = { handle: async () => (await new Promise((r) => setTimeout(r, 1500)), { ok: true, value: 'slow' }), subscribe: () => () => {} } as unknown as Core;
  let limited: WebServer;
  beforeEach(async () => {
    limited = await startWebServer(slowCore, { rendererDir: join(dir.path, 'renderer'), limits: { requestTimeoutMs: 600, headersTimeoutMs: 600, maxConnections: 3 } });
  });
  afterEach(() => limited.close());

  it('drops an authenticated request whose body never finishes, but lets a slow answer finish', async () => {
    const started = Date.now();
    const outcome = await new Promise<string>((resolve) => {
      const socket = connect(limited.port, '127.0.0.1', () => {
        socket.write(`POST /api/projects.list HTTP/1.1\r\nHost: 127.0.0.1:${limited.port}\r\nAuthorization: Bearer ${limited.token}\r\nContent-Length: 1000\r\n\r\n{"a":`);
      });
      let received = '';
      socket.on('data', (d: Buffer) => (received += d.toString()));
      socket.on('close', () => resolve(received.split('\r\n')[0] ?? ''));
      socket.on('error', () => {});
    });
    expect(outcome).toMatch(/^HTTP\/1\.1 408|^$/);
    expect(Date.now() - started).toBeLessThan(5000);
    // Answering may take longer than the request timeout: the request itself arrived in time.
    const reply = await fetch(`http://127.0.0.1:${limited.port}/api/projects.list`, { method: 'POST', headers: { authorization: `Bearer ${limited.token}` }, body: '{}' });
    expect(await reply.json()).toEqual({ ok: true, value: 'slow' });
  });

  it('refuses connections beyond its cap', async () => {
    const open = await Promise.all(
      [0, 1, 2].map(
        () =>
          new Promise<ReturnType<typeof connect>>((resolve) => {
            const socket = connect(limited.port, '127.0.0.1', () => resolve(socket));
          }),
      ),
    );
    const extra = await new Promise<string>((resolve) => {
      const socket = connect(limited.port, '127.0.0.1');
      socket.on('error', () => resolve('closed'));
      socket.on('close', () => resolve('closed'));
      socket.on('connect', () => socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${limited.port}\r\n\r\n`));
      socket.on('data', () => resolve('answered'));
    });
    expect(extra).toBe('closed');
    for (const socket of open) socket.destroy();
  });
});

/** A request exactly as written (fetch would normalise the path and refuses to set Host). */
function raw(options: { path: string; method?: string; headers?: Record<string, string> }): Promise<{ status: number; headers: Record<string, string | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path: options.path, method: options.method ?? 'GET', headers: options.headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers as Record<string, string | undefined> }));
    });
    req.on('error', reject);
    req.end(options.method === 'POST' ? '{}' : undefined);
  });
}

describe('artifacts by URL', () => {
  it('serves a run image by id to the token holder only, with its hash as ETag, and 404 for none', async () => {
    const db = core.workspace.db;
    insertProjectAndDataset(db);
    insertRuns(db, [{ id: 1, name: 'r', config: {} }]);
    const png = Buffer.from('\x89PNG\r\n\x1a\n not really', 'latin1');
    const hash = core.workspace.blobs.put(png);
    db.prepare(`INSERT INTO artifacts (id, run_id, kind, epoch, blob_hash, mime, created_at) VALUES (7, 1, 'samples', 1, ?, 'image/png', 'now')`).run(hash);
    const listed = await (await api('runs.artifacts', { runId: 1, inline: false })).json();
    expect(listed.value).toEqual([{ id: 7, runId: 1, kind: 'samples', epoch: 1, url: 'artifacts/7' }]);

    const auth = { authorization: `Bearer ${server.token}` };
    const ok = await fetch(`${base}/${listed.value[0].url}`, { headers: auth });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('image/png');
    expect(ok.headers.get('etag')).toBe(`"${hash}"`);
    expect(Buffer.from(await ok.arrayBuffer())).toEqual(png);
    expect((await fetch(`${base}/artifacts/7`, { headers: { ...auth, 'if-none-match': `"${hash}"` } })).status).toBe(304);
    expect((await fetch(`${base}/artifacts/7`)).status).toBe(401);
    expect((await fetch(`${base}/artifacts/8`, { headers: auth })).status).toBe(404);
    // Only digits name an artifact (the core's rule, shared with the desktop's artifact scheme): anything else is refused unread.
    expect((await fetch(`${base}/artifacts/7%2F..%2F..%2Fsecret.txt`, { headers: auth })).status).toBe(400);
    expect((await fetch(`${base}/artifacts/..%2Fstudio.db`, { headers: auth })).status).toBe(400);
    expect((await fetch(`${base}/artifacts/7`, { method: 'POST', headers: auth })).status).toBe(405);
  });
});
