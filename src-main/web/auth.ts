import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const SESSION_COOKIE = 'vae_studio_session';

export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieValue(header: string | undefined, name: string): string | null {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return rest.join('=');
  }
  return null;
}

/** A request is ours when it carries the launch token: bearer header or session cookie. */
export function isAuthorized(req: IncomingMessage, token: string): boolean {
  const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
  if (bearer && sameSecret(bearer, token)) return true;
  const cookie = cookieValue(req.headers.cookie, SESSION_COOKIE);
  return cookie !== null && sameSecret(cookie, token);
}

/**
 * Browsers send Origin on cross-site requests; only our own loopback origin may call
 * the API (a page on another site cannot ride the session cookie). Requests with no
 * Origin come from non-browser clients, which must then present the token anyway.
 */
export function isAllowedOrigin(req: IncomingMessage, port: number): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  return origin === `http://127.0.0.1:${port}` || origin === `http://localhost:${port}`;
}

/**
 * The Host a request is addressed to must be this server by a loopback name: against
 * DNS rebinding (a site whose name now resolves to 127.0.0.1 still sends its own name),
 * in addition to the token. The server binds 127.0.0.1 only.
 */
export function isAllowedHost(req: IncomingMessage, port: number): boolean {
  const host = req.headers.host?.toLowerCase();
  return host === `127.0.0.1:${port}` || host === `localhost:${port}`;
}
