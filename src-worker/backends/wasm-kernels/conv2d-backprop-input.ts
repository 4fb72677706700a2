import { tf } from '../../engine/tf';
import { asBackend, disposeInfo, isHeapBackend, runBackendKernel, type KernelBackendLike } from './kernel-utils';
import { phaseFilters } from './phase-filters';

/**
 * Conv2DBackpropInput (the input gradient of conv2d, and the forward pass of
 * conv2dTranspose) through the backend's fast Conv2D. Stock wasm runs it as a naive
 * loop, 5–10× slower than XNNPACK's convolution, and it was the bulk of a conv VAE
 * step.
 *
 * Sub-pixel (phase) decomposition: with stride s, output rows h = s·a + r of one
 * phase r only ever meet filter taps i ≡ (r + padTop) mod s. So each of the s² phases
 * is a stride-1 correlation of dy with a flipped, strided slice of the filter, and
 * the phases are interleaved back in one JS pass (stock wasm Concat + DepthToSpace
 * took longer than the four convolutions themselves). Same multiply count as the direct sum,
 * none of the zeros a dilate-then-convolve approach would multiply. The flipped,
 * strided per-phase filters are built in one pass and cached (phase-filters.ts).
 * Equal strides only (DepthToSpace has one block size); anything else, and any case
 * this does not cover, goes to the original kernel.
 */
export function fastConv2dBackpropInputConfig(original: tf.KernelConfig): tf.KernelConfig {
  const { backendName } = original;
  return {
    kernelName: tf.Conv2DBackpropInput,
    backendName,
    setupFunc: original.setupFunc,
    disposeFunc: original.disposeFunc,
    kernelFunc: (args) => {
      const { inputs, attrs } = args;
      const dy = inputs['dy'];
      const filter = inputs['filter'];
      const a = attrs as unknown as tf.Conv2DBackpropInputAttrs;
      const [sh, sw] = typeof a.strides === 'number' ? [a.strides, a.strides] : a.strides;
      if (dy === undefined || filter === undefined || a.dataFormat !== 'NHWC' || sh !== sw || dy.dtype !== 'float32') {
        return original.kernelFunc(args);
      }
      return phaseDecomposed(backendName, asBackend(args.backend), dy, filter, a, sh);
    },
  };
}

function phaseDecomposed(
  backendName: string,
  backend: ReturnType<typeof asBackend>,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  attrs: tf.Conv2DBackpropInputAttrs,
  s: number,
): tf.TensorInfo {
  const info = tf.backend_util.computeConv2DInfo(
    attrs.inputShape,
    filter.shape as [number, number, number, number],
    s,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const [N, H, W, C] = attrs.inputShape;
  const { filterHeight: kh, filterWidth: kw, outHeight: oh, outWidth: ow, outChannels: o } = info;
  const { top, left } = info.padInfo;
  // Taps per phase; the filter is zero-padded to a multiple of s so every phase has as many.
  const th = Math.ceil(kh / s);
  const tw = Math.ceil(kw / s);
  const ha = Math.ceil(H / s);
  const wa = Math.ceil(W / s);

  const temps: tf.TensorInfo[] = [];
  const run = (name: string, ins: tf.NamedTensorInfoMap | tf.TensorInfo[], at: tf.NamedAttrMap): tf.TensorInfo => {
    const out = runBackendKernel(name, backendName, backend, ins as tf.NamedTensorInfoMap, at);
    temps.push(out);
    return out;
  };
  try {
    const subFilters = phaseFilters(backend, filter, { kh, kw, inC: C, outC: o, stride: s, top, left });
    const phases: Phase[] = [];
    for (let ry = 0; ry < s; ry++) {
      for (let rx = 0; rx < s; rx++) {
        const qy = Math.floor((ry + top) / s);
        const qx = Math.floor((rx + left) / s);
        const subFilter = subFilters[ry * s + rx]!;
        // Output a of this phase reads dy rows a − (th − 1 − qy) … a + qy.
        const padTop = th - 1 - qy;
        const padLeft = tw - 1 - qx;
        const padBottom = ha - oh - padTop + th - 1;
        const padRight = wa - ow - padLeft + tw - 1;
        const usedTop = Math.max(0, padTop);
        const usedLeft = Math.max(0, padLeft);
        const phase = run(
          'Conv2D',
          { x: dy, filter: subFilter },
          {
            strides: [1, 1],
            pad: [
              [0, 0],
              [usedTop, Math.max(0, padBottom)],
              [usedLeft, Math.max(0, padRight)],
              [0, 0],
            ],
            dataFormat: 'NHWC',
            dilations: [1, 1],
            dimRoundingMode: 'floor',
          } as unknown as tf.NamedAttrMap,
        );
        phases.push({ info: phase, offY: usedTop - padTop, offX: usedLeft - padLeft });
      }
    }
    return interleave(backend, phases, [N, H, W, C], s);
  } finally {
    for (const t of temps) disposeInfo(backend, t);
  }
}

/** One phase's convolution output and where its row/column 0 starts in it. */
interface Phase {
  info: tf.TensorInfo;
  offY: number;
  offX: number;
}

/**
 * dx[n, s·a + ry, s·b + rx, c] = phase(ry, rx)[n, a + offY, b + offX, c], cropped to H × W.
 * On wasm straight from the phases' heap memory into the output's (the copy out of the
 * heap and back in cost as much as the interleave itself at 64×64×9); elsewhere through
 * copies.
 */
function interleave(backend: KernelBackendLike, phases: Phase[], shape: [number, number, number, number], s: number): tf.TensorInfo {
  const size = shape.reduce((a, b) => a * b, 1);
  if (isHeapBackend(backend)) {
    const result = backend.makeOutput(shape, 'float32');
    // Views after the allocation: it may have grown the heap.
    const out = backend.typedArrayFromHeap(result) as Float32Array;
    scatterPhases(phases, (phase) => backend.typedArrayFromHeap(phase.info) as Float32Array, out, shape, s);
    return result;
  }
  const out = new Float32Array(size);
  scatterPhases(phases, (phase) => backend.readSync(phase.info.dataId) as Float32Array, out, shape, s);
  return { dataId: backend.write(out, shape, 'float32'), shape, dtype: 'float32' };
}

function scatterPhases(
  phases: Phase[],
  valuesOf: (phase: Phase) => Float32Array,
  out: Float32Array,
  shape: [number, number, number, number],
  s: number,
): void {
  const [N, H, W, C] = shape;
  phases.forEach((phase, p) => {
    const ry = Math.floor(p / s);
    const rx = p % s;
    const [, ph, pw] = phase.info.shape as [number, number, number, number];
    const values = valuesOf(phase);
    for (let n = 0; n < N; n++) {
      for (let y = ry, a = phase.offY; y < H; y += s, a++) {
        for (let x = rx, b = phase.offX; x < W; x += s, b++) {
          const src = ((n * ph + a) * pw + b) * C;
          const dst = ((n * H + y) * W + x) * C;
          for (let c = 0; c < C; c++) out[dst + c] = values[src + c]!;
        }
      }
    }
  });
}
