import type { Protocol } from 'electron';
import { ARTIFACT_HOST, ARTIFACT_SCHEME } from '../core/api/artifact-file';
import type { Core } from '../core/core';

/**
 * The desktop app's run images by URL (`vae-studio-artifact://artifact/<id>`, the URL the
 * core hands the renderer) instead of inlined in every answer. Thin: which id is valid,
 * which file it names and how much is read are the core's (api/artifact-file.ts), shared
 * with web mode's GET /artifacts/<id>; this maps a request to it and its answer to a Response.
 */

/** Before the app is ready (Electron's rule): a standard, secure scheme, no fetch, no CORS, no CSP bypass. */
export function registerArtifactScheme(protocol: Pick<Protocol, 'registerSchemesAsPrivileged'>): void {
  protocol.registerSchemesAsPrivileged([{ scheme: ARTIFACT_SCHEME, privileges: { standard: true, secure: true } }]);
}

export function handleArtifacts(protocol: Pick<Protocol, 'handle'>, core: Pick<Core, 'artifact'>): void {
  protocol.handle(ARTIFACT_SCHEME, (request) => artifactResponse(core, request));
}

const TEXT = { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' };

export function artifactResponse(core: Pick<Core, 'artifact'>, request: Pick<Request, 'method' | 'url' | 'headers'>): Response {
  if (request.method !== 'GET') return new Response('Use GET for an artifact.', { status: 405, headers: TEXT });
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    return new Response('Not an artifact address.', { status: 400, headers: TEXT });
  }
  // One shape only: the host, one path segment (still percent-encoded, so an encoded slash stays in it), nothing after.
  const ref = url.host === ARTIFACT_HOST && url.search === '' && url.hash === '' ? /^\/([^/]*)$/.exec(url.pathname)?.[1] : undefined;
  const answer = core.artifact(ref ?? '');
  if (answer.status !== 200) return new Response(answer.message, { status: answer.status, headers: TEXT });
  const etag = `"${answer.hash}"`;
  const headers = { 'content-type': answer.mime, 'cache-control': 'private, no-cache', etag, 'x-content-type-options': 'nosniff' };
  if (request.headers.get('if-none-match') === etag) return new Response(null, { status: 304, headers });
  return new Response(new Uint8Array(answer.bytes), { status: 200, headers: { ...headers, 'content-length': String(answer.bytes.length) } });
}
