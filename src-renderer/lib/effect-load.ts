/**
 * One asynchronous load started by an `$effect`, whose answer is applied only while that
 * effect is still the current one. Return its result from the effect:
 *
 *   $effect(() => loadWhileCurrent(call('runs.checkpoints', { runId }), (list) => (checkpoints = list), showError));
 *
 * When the effect re-runs (its inputs changed) or its component goes away, Svelte calls
 * the returned teardown and the answer of the older load, whenever it comes, is dropped:
 * a slow answer for the run the page showed before can never land on the one it shows now.
 *
 * `fail` is required on purpose: a site that shows nothing on failure says so with a no-op.
 * Like `.then(apply).catch(fail)`, an exception thrown by `apply` also goes to `fail`.
 */
export function loadWhileCurrent<T>(load: Promise<T>, apply: (value: T) => void, fail: (error: unknown) => void): () => void {
  let current = true;
  load
    .then((value) => {
      if (current) apply(value);
    })
    .catch((error: unknown) => {
      if (current) fail(error);
    });
  return () => {
    current = false;
  };
}
