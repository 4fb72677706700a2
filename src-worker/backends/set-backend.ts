import { tf } from '../engine/tf';

export type Started = { ok: true } | { ok: false; reason: string };

/**
 * tf.setBackend reports failure only as `false` and prints the cause with
 * console.warn; capture those lines so the note can say what went wrong.
 */
export async function setBackendExplained(name: string): Promise<Started> {
  const warnings: string[] = [];
  const originalWarn = console.warn;
  console.warn = (...args: unknown[]) => {
    warnings.push(args.map((a) => (a instanceof Error ? a.message : String(a))).join(' '));
  };
  try {
    if (await tf.setBackend(name)) return { ok: true };
    return { ok: false, reason: warnings.join('; ') || 'initialization failed' };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  } finally {
    console.warn = originalWarn;
  }
}
