/**
 * The connectivity masks of the VQ-VAE's MADE prior (Germain et al. 2015) over L code
 * positions of K codes with H hidden units. Hidden unit h gets degree 1 + (h mod (L − 1))
 * and may see positions ≤ its degree; output position i + 1 reads hidden units of degree
 * < i + 1, so the logits of position i depend only on the codes before it.
 * Shared by the worker (training, sampling) and the export, which folds them into the
 * weights so the exported prior is two plain dense layers.
 */
export function madeMasks(L: number, K: number, H: number): { input: Float32Array; output: Float32Array } {
  const degree = (h: number): number => (L > 1 ? 1 + (h % (L - 1)) : 0);
  const input = new Float32Array(L * K * H);
  const output = new Float32Array(H * L * K);
  for (let i = 0; i < L; i++) {
    for (let k = 0; k < K; k++) {
      for (let h = 0; h < H; h++) {
        if (degree(h) >= i + 1) input[(i * K + k) * H + h] = 1;
        if (degree(h) < i + 1) output[h * L * K + i * K + k] = 1;
      }
    }
  }
  return { input, output };
}
