import { tf } from '../engine/tf';
import { isHeapBackend } from '../backends/wasm-kernels/kernel-utils';

/**
 * The one-component discretized logistic log-likelihood (logistic.ts, K = 1, the
 * default) and its gradient in one pass over the sub-pixels, for the backends whose
 * tensors live in this process's memory (wasm, cpu). As tensor ops it is about 30 kernels
 * forward and 60 backward over N·D values (786 432 at batch 64 of 64×64×3), each a
 * full pass through memory, plus copies: a quarter of a 64×64×3 training step on wasm.
 *
 * Same formula as discretizedLogisticLogProbs (see logistic.ts for the stable form of
 * the inner bins), evaluated in float64 from the float32 inputs and rounded once at the
 * end, so values agree with the tensor ops to float32 rounding (each of their ~30 ops
 * rounds). The gradient is the tensor ops' gradient written out (a is `plus`, b `minus`,
 * d = h·e^−s, u = −expm1(−2d)):
 *   lowest bin  log σ(a):        ∂/∂a = σ(−a)
 *   highest bin log(1 − σ(b)):   ∂/∂b = −σ(b)
 *   inner bins                   ∂/∂a = sign(a)·(σ(−|a|) − ½), likewise b, ∂/∂d = 1 + 2(1 − u)/u
 * then μ = σ(r_μ), s = max(r_s, LOG_SCALE_MIN) (no gradient below the floor, as tf.maximum),
 * ∂a/∂μ = ∂b/∂μ = −e^−s, ∂a/∂s = −a, ∂b/∂s = −b, ∂d/∂s = −d, ∂/∂x = −∂/∂μ.
 * The logit column of K = 1 gets no gradient (its weight is always 1).
 */
export function fusedLogisticAvailable(): boolean {
  const backend = tf.getBackend();
  return backend === 'wasm' || backend === 'cpu';
}

/**
 * Where one pass writes: log p per sub-pixel (`value`, or null) and its sum per image
 * (`sums`, or null), and ∂ log p / ∂x, ∂ log p / ∂r_μ, ∂ log p / ∂r_s per sub-pixel.
 */
interface PassOut {
  value: Float32Array | null;
  sums: Float32Array | null;
  dx: Float32Array;
  dLocation: Float32Array;
  dLogScale: Float32Array;
}

/** n images of `pixels` sub-pixels: every element of `out` is written (wasm heap memory comes uninitialised). */
function logisticPass(x: Float32Array, raw: Float32Array, n: number, pixels: number, halfBin: number, logScaleMin: number, out: PassOut): void {
  const { value, sums, dx, dLocation, dLogScale } = out;
  for (let r = 0; r < n; r++) {
    // The image's sum in float64 of the float32 values, in sub-pixel order.
    let sum = 0;
    for (let i = r * pixels; i < (r + 1) * pixels; i++) {
      const xi = x[i]!;
      const rMu = raw[3 * i + 1]!;
      const rS = raw[3 * i + 2]!;
      const mu = 1 / (1 + Math.exp(-rMu));
      const floored = rS < logScaleMin;
      const s = floored ? logScaleMin : rS;
      const inv = Math.exp(-s);
      const centred = xi - mu;
      const a = inv * (centred + halfBin);
      const b = inv * (centred - halfBin);
      let lp: number;
      let ga = 0;
      let gb = 0;
      let gd = 0;
      let d = 0;
      if (xi < halfBin) {
        // log σ(a) = a − max(a, 0) − softplus(−|a|)
        const t = Math.exp(-Math.abs(a));
        lp = a - Math.max(a, 0) - Math.log1p(t);
        ga = a >= 0 ? t / (1 + t) : 1 / (1 + t);
      } else if (xi > 1 - halfBin) {
        // log(1 − σ(b)) = −max(b, 0) − softplus(−|b|)
        const t = Math.exp(-Math.abs(b));
        lp = -Math.max(b, 0) - Math.log1p(t);
        gb = b >= 0 ? -1 / (1 + t) : -t / (1 + t);
      } else {
        // Five transcendentals instead of eight: b = a − 2d, so e^−|b| follows from e^−|a| and
        // e^±2d = (1 + expm1(∓2d))^∓1 where a and b have one sign, and the two softplus
        // terms and log u share one log. All in float64: far below float32's rounding.
        d = inv * halfBin;
        const em = Math.expm1(-2 * d);
        const u = -em;
        const absA = Math.abs(a);
        const absB = Math.abs(b);
        const ta = Math.exp(-absA);
        const tb = b >= 0 ? ta / (1 + em) : a <= 0 ? ta * (1 + em) : Math.exp(-absB);
        const oneTa = 1 + ta;
        const oneTb = 1 + tb;
        lp = d - 0.5 * (absA + absB) + Math.log(u / (oneTa * oneTb));
        // sign(a)·(σ(−|a|) − ½); tf's |a| gradient takes −1 at 0, where the bracket is 0 anyway
        ga = (a > 0 ? 1 : -1) * (ta / oneTa - 0.5);
        gb = (b > 0 ? 1 : -1) * (tb / oneTb - 0.5);
        gd = 1 + (2 * (1 + em)) / u;
      }
      const gMu = -inv * (ga + gb);
      const lp32 = Math.fround(lp);
      if (value !== null) value[i] = lp32;
      sum += lp32;
      dx[i] = -gMu;
      dLocation[i] = gMu * mu * (1 - mu);
      dLogScale[i] = floored ? 0 : -(ga * a + gb * b + gd * d);
    }
    if (sums !== null) sums[r] = sum;
  }
}

/**
 * A tensor's values from a backend that keeps them in this process: on wasm a view of
 * its heap (no copy: at 64 images of 64×64×3 the inputs and dy were 12 MB of new buffers
 * a step outside V8's heap, which make it collect "for external memory pressure" —
 * docs/PERFORMANCE.md, gc27), on cpu its own array. A view is valid until the backend's
 * next allocation (the heap may grow and move): each is taken after every tensor the
 * pass writes has been made, and read before any other is.
 */
function valuesOf(t: tf.TensorInfo): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`the fused logistic likelihood reads float32 tensors, got ${t.dtype}`);
  const backend = tf.backend();
  const values = isHeapBackend(backend) ? backend.typedArrayFromHeap(t) : backend.readSync(t.dataId);
  if (!(values instanceof Float32Array)) throw new Error(`the fused logistic likelihood reads float32 tensors, got ${t.dtype}`);
  return values;
}

/**
 * New float32 tensors of `shapes` for a pass to fill. On wasm they are made first, in its
 * heap, and `fill` is given views of them (the pass's results then never exist as
 * JavaScript buffers: at 64 images of 64×64×3 its value, gradients and the backward's
 * two outputs were ≈ 25 MB of them a step, the replicas' last trigger of full
 * collections "for external memory pressure" — docs/PERFORMANCE.md, heap28); `fill`
 * takes its input views itself, after these allocations. Elsewhere (cpu) `fill` writes
 * new arrays that then become the tensors. Each tensor is new data that no other holds.
 */
function filledTensors(shapes: number[][], fill: (views: Float32Array[]) => void): tf.Tensor[] {
  const backend = tf.backend();
  if (isHeapBackend(backend)) {
    const tensors = shapes.map((shape) => tf.engine().makeTensorFromTensorInfo(backend.makeOutput(shape, 'float32')));
    fill(tensors.map((t) => valuesOf(t)));
    return tensors;
  }
  const arrays = shapes.map((shape) => new Float32Array(tf.util.sizeFromShape(shape)));
  fill(arrays);
  return arrays.map((values, k) => tf.tensor(values, shapes[k], 'float32'));
}

/**
 * log P(x) per sub-pixel, [N, D], of a one-component output [N, D·3] (logit, raw
 * location, log scale per sub-pixel), with its gradient. Values are read from the
 * backend synchronously: only where fusedLogisticAvailable().
 */
export function fusedLogisticPixelLogLikelihood(x: tf.Tensor2D, output: tf.Tensor2D, halfBin: number, logScaleMin: number): tf.Tensor2D {
  return fused(x, output, halfBin, logScaleMin, false) as tf.Tensor2D;
}

/**
 * log p(x|z) per image, [N]: the sub-pixels' sum taken in the same pass (in float64),
 * so training's ELBO neither sums N·D values in a kernel nor spreads its gradient
 * back over them with a tensor of ones.
 */
export function fusedLogisticLogLikelihood(x: tf.Tensor2D, output: tf.Tensor2D, halfBin: number, logScaleMin: number): tf.Tensor1D {
  return fused(x, output, halfBin, logScaleMin, true) as tf.Tensor1D;
}

function fused(x: tf.Tensor2D, output: tf.Tensor2D, halfBin: number, logScaleMin: number, perImage: boolean): tf.Tensor {
  const [n, pixels] = x.shape;
  if (output.shape[0] !== n || output.shape[1] !== 3 * pixels) {
    throw new Error(`a one-component logistic output [${output.shape.join(', ')}] does not fit ${n} images of ${pixels} sub-pixels`);
  }
  const run = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const xs = args[0] as tf.Tensor2D;
    const out = args[1] as tf.Tensor2D;
    const save = args[2] as tf.GradSaveFunc;
    const valueShape = perImage ? [n] : [n, pixels];
    // The value, then ∂/∂x, ∂/∂r_μ, ∂/∂r_s per sub-pixel: tensors the tape keeps for the
    // backward pass (`save`, only while it records; without it the forward's tidy frees them).
    const [value, dx, dLocation, dLogScale] = filledTensors([valueShape, [n, pixels], [n, pixels], [n, pixels]], ([v, gx, gLocation, gLogScale]) => {
      logisticPass(valuesOf(xs), valuesOf(out), n, pixels, halfBin, logScaleMin, {
        value: perImage ? null : v!,
        sums: perImage ? v! : null,
        dx: gx!,
        dLocation: gLocation!,
        dLogScale: gLogScale!,
      });
    }) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    save([dx, dLocation, dLogScale]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedDx, savedLocation, savedLogScale] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        return filledTensors([[n, pixels], [n, 3 * pixels]], ([gx, gOut]) => {
          const g = valuesOf(dy);
          const fx = valuesOf(savedDx);
          const fLocation = valuesOf(savedLocation);
          const fLogScale = valuesOf(savedLogScale);
          for (let r = 0; r < n; r++) {
            for (let i = r * pixels; i < (r + 1) * pixels; i++) {
              const gi = perImage ? g[r]! : g[i]!;
              gx![i] = gi * fx[i]!;
              // The K = 1 logit gets no gradient.
              gOut![3 * i] = 0;
              gOut![3 * i + 1] = gi * fLocation[i]!;
              gOut![3 * i + 2] = gi * fLogScale[i]!;
            }
          }
        });
      },
    };
  }) as (x: tf.Tensor2D, output: tf.Tensor2D) => tf.Tensor;
  return run(x, output);
}
