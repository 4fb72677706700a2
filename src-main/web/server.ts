import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import type { ErrorCode } from '@shared/errors';
import { folderListRequestSchema } from '@shared/folder-browser';
import { toApiError } from '../core/errors';
import type { Core } from '../core/core';
import { listFolders } from '../core/datasets/list-folders';
import { isAllowedHost, isAllowedOrigin, isAuthorized, newToken, sameSecret, SESSION_COOKIE } from './auth';
import { readStatic } from './static-files';

export interface WebServer {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

const MAX_BODY = 1024 * 1024;
/** The folder browser's route (web mode only; not part of the API map the other adapters share). */
export const FOLDERS_ROUTE = '/web/folders';
/** A run's image by artifact id (`/artifacts/<id>`), for the token holder: the Runs views load images by URL, not inlined. The id is the core's to judge (api/artifact-file.ts). */
export const ARTIFACT_ROUTE = /^\/artifacts\/([^/]*)$/;
/**
 * The adapter's limits. A request (headers and body, at most 1 MiB) must arrive within
 * `requestTimeoutMs`, its headers within `headersTimeoutMs`: an authenticated client
 * that sends its body slowly cannot hold a socket for ever. (Answering may take longer:
 * a large import keeps its request open for minutes.) The UI opens a handful of
 * connections; more than `maxConnections` at once are refused. The event WebSocket only
 * sends: what a client sends it is never read, so a frame may be small.
 */
export interface WebLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  maxConnections: number;
  maxWebSocketMessage: number;
}
export const DEFAULT_WEB_LIMITS: WebLimits = { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, maxConnections: 64, maxWebSocketMessage: 4096 };
const HTTP_STATUS: Record<ErrorCode, number> = {
  invalid_input: 400,
  not_found: 404,
  conflict: 409,
  io_error: 500,
  cancelled: 409,
  worker_failed: 500,
  unauthorized: 401,
  internal: 500,
};
const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function refuse(res: ServerResponse, status: number, message: string): void {
  sendJson(res, status, { ok: false, error: { code: 'unauthorized', message } });
}

/**
 * A POST's JSON body (an empty body is `{}`), read into memory up to `MAX_BODY` bytes. A
 * body declared or found larger gets 413 and a body that is not JSON gets 400, both
 * answered here (the answer closes the connection rather than read the rest); the caller
 * then has nothing to do: `undefined` means answered.
 */
async function readJsonBody(req: IncomingMessage, res: ServerResponse): Promise<{ input: unknown } | undefined> {
  const tooLarge = (): undefined => {
    sendJson(
      res,
      413,
      { ok: false, error: { code: 'invalid_input', message: `The request body is larger than ${MAX_BODY / 1024 / 1024} MiB; send a smaller request.`, details: { field: '(body)' } } },
      { connection: 'close' },
    );
    return undefined;
  };
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY) return tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return tooLarge();
    chunks.push(chunk as Buffer);
  }
  const body = Buffer.concat(chunks).toString('utf8');
  try {
    return { input: body.length ? JSON.parse(body) : {} };
  } catch (error) {
    sendJson(res, 400, { ok: false, error: { code: 'invalid_input', message: `Request body is not valid JSON: ${String(error)}`, details: { field: '(body)' } } });
    return undefined;
  }
}

/**
 * Where the login redirect sends the browser: the requested path on this server. A path
 * starting with `//` or `/\\` would be read as another host (`//evil.example/x`), so
 * leading slashes and backslashes collapse to one.
 */
export function samePagePath(pathname: string): string {
  return `/${pathname.replace(/^[/\\]+/, '')}`;
}

/**
 * The loopback adapter: the same core over HTTP + WebSocket, for headless machines and
 * end-to-end tests. Binds 127.0.0.1 only; every route needs the per-launch token.
 */
export async function startWebServer(core: Core, options: { port?: number; rendererDir: string; limits?: Partial<WebLimits> }): Promise<WebServer> {
  const token = newToken();
  const limits = { ...DEFAULT_WEB_LIMITS, ...options.limits };
  let port = 0;

  const server: Server = createServer({ connectionsCheckingInterval: Math.min(1000, limits.requestTimeoutMs / 2) }, (req, res) => {
    void route(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { ok: false, error: { code: 'internal', message: String(error) } });
    });
  });
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.maxConnections = limits.maxConnections;

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // A page on another site that rebinds its name to 127.0.0.1 sends its own Host.
    if (!isAllowedHost(req, port)) return refuse(res, 403, `Requests must be addressed to 127.0.0.1:${port} or localhost:${port}.`);
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    if (!isAllowedOrigin(req, port)) return refuse(res, 403, 'Cross-origin requests are refused.');

    if (req.method === 'GET' && url.searchParams.has('token')) {
      if (!sameSecret(url.searchParams.get('token') ?? '', token)) {
        return refuse(res, 401, 'Wrong access token. Open the URL printed by `vae-studio serve`.');
      }
      res.writeHead(302, {
        ...SECURITY_HEADERS,
        'set-cookie': `${SESSION_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`,
        location: samePagePath(url.pathname),
      });
      res.end();
      return;
    }
    if (!isAuthorized(req, token)) {
      if (req.method === 'GET' && req.headers.accept?.includes('text/html')) {
        res.writeHead(401, { ...SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8' });
        res.end('<h1>VAE Studio</h1><p>Open the full URL printed by <code>vae-studio serve</code>: it carries this launch\'s access token.</p>');
        return;
      }
      return refuse(res, 401, 'Missing or wrong access token.');
    }

    if (url.pathname.startsWith('/api/')) {
      if (req.method !== 'POST') return refuse(res, 405, 'Use POST for API calls.');
      const body = await readJsonBody(req, res);
      if (!body) return;
      let name: string;
      try {
        name = decodeURIComponent(url.pathname.slice(5));
      } catch {
        return sendJson(res, 400, { ok: false, error: { code: 'invalid_input', message: `The request name in ${url.pathname} is not valid percent-encoding.`, details: { field: '(path)' } } });
      }
      const started = performance.now();
      const envelope = await core.handle(name, body.input);
      // The core's own time (validation and handler), apart from HTTP and JSON: bench:history reads it.
      const timing = { 'server-timing': `core;dur=${(performance.now() - started).toFixed(2)}` };
      return sendJson(res, envelope.ok ? 200 : HTTP_STATUS[envelope.error.code], envelope, timing);
    }

    // Web mode's folder browser (Electron has the native dialog): folder names and image
    // counts under a path, never a file's name or contents.
    if (url.pathname === FOLDERS_ROUTE) {
      if (req.method !== 'POST') return refuse(res, 405, 'Use POST for the folder list.');
      const body = await readJsonBody(req, res);
      if (!body) return;
      const parsed = folderListRequestSchema.safeParse(body.input);
      if (!parsed.success) {
        return sendJson(res, 400, { ok: false, error: { code: 'invalid_input', message: 'The folder list takes { path?: an absolute path }.', details: { field: 'path' } } });
      }
      try {
        return sendJson(res, 200, { ok: true, value: await listFolders(parsed.data.path) });
      } catch (error) {
        const shape = toApiError(error).toJSON();
        return sendJson(res, HTTP_STATUS[shape.code], { ok: false, error: shape });
      }
    }

    const artifact = ARTIFACT_ROUTE.exec(url.pathname);
    if (artifact) {
      if (req.method !== 'GET') return refuse(res, 405, 'Use GET for an artifact.');
      const file = core.artifact(artifact[1]!);
      if (file.status !== 200) return sendJson(res, file.status, { ok: false, error: { code: file.status === 404 ? 'not_found' : file.status === 500 ? 'io_error' : 'invalid_input', message: file.message } });
      // Content-addressed: the blob's hash is its ETag; a repeat asks and gets 304.
      const etag = `"${file.hash}"`;
      const headers = { ...SECURITY_HEADERS, 'cache-control': 'private, no-cache', etag, 'content-type': file.mime };
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304, headers);
        res.end();
        return;
      }
      res.writeHead(200, { ...headers, 'content-length': String(file.bytes.length) });
      res.end(file.bytes);
      return;
    }

    if (req.method !== 'GET') return refuse(res, 405, 'Method not allowed.');
    const file = await readStatic(options.rendererDir, url.pathname);
    if (!file) {
      res.writeHead(404, SECURITY_HEADERS);
      res.end('Not found');
      return;
    }
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': file.type });
    res.end(file.body);
  }

  const sockets = new WebSocketServer({ noServer: true, maxPayload: limits.maxWebSocketMessage });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    if (url.pathname !== '/events' || !isAllowedHost(req, port) || !isAllowedOrigin(req, port) || !isAuthorized(req, token)) {
      socket.write('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
      socket.destroy();
      return;
    }
    sockets.handleUpgrade(req, socket, head, (ws) => {
      const unsubscribe = core.subscribe((message) => {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
      });
      ws.on('close', unsubscribe);
      ws.on('error', unsubscribe);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of sockets.clients) client.terminate();
        sockets.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
