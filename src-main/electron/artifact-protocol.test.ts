// The desktop app's artifact scheme, without an Electron binary: a fake `protocol` records
// what the adapter registers, and its handler answers real requests from a real workspace.
import { truncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACT_SCHEME, artifactUrl, readArtifact } from '../core/api/artifact-file';
import type { Core } from '../core/core';
import { tempDir, testCore, writeImageFolder } from '../core/testing';
import { artifactResponse, handleArtifacts, registerArtifactScheme } from './artifact-protocol';

let dir: ReturnType<typeof tempDir>;
let core: Core;
let png: Buffer;
let artifactId: number;
/** An artifact whose stored file is 1 GiB (sparse): refused unread. */
let hugeId: number;

beforeAll(async () => {
  dir = tempDir('vae-studio-artifact-scheme-');
  process.env.FAKE_WORKER_MODE = 'finish';
  core = testCore(join(dir.path, 'home'), { mode: 'electron' });
  await writeImageFolder(join(dir.path, 'images'), ['a'], 2, { size: 8 });
  const project = await core.call('projects.create', { name: 'p' });
  const dataset = await core.call('datasets.import', { projectId: project.id, folder: join(dir.path, 'images'), size: 8 });
  const run = await core.call('runs.create', { projectId: project.id, datasetId: dataset.id, config: {} });
  await core.runs.settled(run.id);
  delete process.env.FAKE_WORKER_MODE;
  const { db, blobs } = core.workspace;
  const insert = db.prepare(`INSERT INTO artifacts (run_id, kind, epoch, blob_hash, mime, created_at) VALUES (?, ?, 1, ?, 'image/png', 'now')`);
  png = Buffer.from('\x89PNG\r\n\x1a\n samples', 'latin1');
  artifactId = Number(insert.run(run.id, 'samples', blobs.put(png)).lastInsertRowid);
  const hugeHash = blobs.put(Buffer.from('to be made huge'));
  truncateSync(blobs.pathOf(hugeHash), 1024 ** 3);
  hugeId = Number(insert.run(run.id, 'reconstructions', hugeHash).lastInsertRowid);
});
afterAll(async () => {
  await core?.close();
  dir?.cleanup();
});

describe('the desktop artifact scheme (fake protocol)', () => {
  it('registers a standard, secure scheme before ready and answers the URL the core hands the renderer', async () => {
    const registered: unknown[] = [];
    registerArtifactScheme({ registerSchemesAsPrivileged: (schemes) => void registered.push(...schemes) });
    expect(registered).toEqual([{ scheme: ARTIFACT_SCHEME, privileges: { standard: true, secure: true } }]);

    const handlers = new Map<string, (request: Request) => Response | Promise<Response>>();
    handleArtifacts({ handle: (scheme, handler) => void handlers.set(scheme, handler) }, core);
    const handler = handlers.get(ARTIFACT_SCHEME)!;
    // The renderer is handed the scheme's URL, not the image.
    const [listed] = await core.call('runs.artifacts', { runId: 1, kind: 'samples', inline: false });
    expect(listed).toMatchObject({ url: `vae-studio-artifact://artifact/${artifactId}` });
    expect(listed!.dataUrl).toBeUndefined();

    const ok = await handler(new Request(listed!.url));
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('image/png');
    expect(ok.headers.get('x-content-type-options')).toBe('nosniff');
    expect(Buffer.from(await ok.arrayBuffer())).toEqual(png);
    const etag = ok.headers.get('etag')!;
    expect((await handler(new Request(listed!.url, { headers: { 'if-none-match': etag } }))).status).toBe(304);
    expect((await handler(new Request(listed!.url, { method: 'POST', body: 'x' }))).status).toBe(405);
  });

  it('refuses hostile addresses unread: paths, encoded slashes, other hosts, queries, non-ids; 404 for an id with no artifact', async () => {
    const status = (url: string): number => artifactResponse(core, new Request(url)).status;
    const base = `${ARTIFACT_SCHEME}://artifact`;
    for (const url of [
      `${base}/../studio.db`,
      `${base}/${artifactId}/..`,
      `${base}/%2e%2e%2fstudio.db`,
      `${base}/${artifactId}%2F..%2F..%2Fstudio.db`,
      `${base}/${artifactId}?x=1`,
      `${base}/${artifactId}#x`,
      `${base}/blobs/${artifactId}`,
      `${ARTIFACT_SCHEME}://other/${artifactId}`,
      `${ARTIFACT_SCHEME}://artifact:80/${artifactId}`,
      `${base}/`,
      `${base}/0`,
      `${base}/-1`,
      `${base}/0${artifactId}`,
      `${base}/1e3`,
      `${base}/9007199254740993`,
      `${base}/${'9'.repeat(5000)}`,
    ]) {
      expect([url.slice(0, 80), status(url)]).toEqual([url.slice(0, 80), 400]);
    }
    expect(status(`${base}/999999`)).toBe(404);
  });
});

describe('the core artifact lookup (shared by web mode and the desktop scheme)', () => {
  it('takes a plain id only, reads only the blob its row names, and refuses an oversized file before reading it', () => {
    const { workspace } = core;
    for (const ref of ['', ' 1', '1 ', '+1', '1.0', '0x1', '１', '١', '../1', '1/2', '%31', 'null', String(Number.MAX_SAFE_INTEGER + 2)]) {
      expect(readArtifact(workspace, ref).status, JSON.stringify(ref)).toBe(400);
    }
    expect(readArtifact(workspace, String(artifactId))).toMatchObject({ status: 200, mime: 'image/png', bytes: png });
    expect(readArtifact(workspace, String(Number.MAX_SAFE_INTEGER))).toMatchObject({ status: 404 });
    const before = process.memoryUsage();
    const started = performance.now();
    const huge = readArtifact(workspace, String(hugeId));
    const after = process.memoryUsage();
    expect(huge).toMatchObject({ status: 413, message: expect.stringMatching(/1073741824 bytes, more than the 16777216.*not read/) });
    // Not read: no 1 GiB buffer, and no time spent reading one.
    expect(after.arrayBuffers + after.external - (before.arrayBuffers + before.external)).toBeLessThan(16 * 1024 * 1024);
    expect(performance.now() - started).toBeLessThan(500);
    expect(artifactUrl('web', 3)).toBe('artifacts/3');
    expect(artifactUrl('electron', 3)).toBe('vae-studio-artifact://artifact/3');
  });
});
