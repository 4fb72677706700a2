import { tf } from '../../engine/tf';
import { asBackend, disposeInfo, runBackendKernel } from './kernel-utils';

/**
 * Conv2DBackpropInput (the input gradient of conv2d, and the forward pass of
 * conv2dTranspose) through the backend's fast Conv2D. Stock wasm runs it as a naive
 * loop, 5–10× slower than XNNPACK's convolution, and it was the bulk of a conv VAE
 * step.
 *
 * Sub-pixel (phase) decomposition: with stride s, output rows h = s·a + r of one
 * phase r only ever meet filter taps i ≡ (r + padTop) mod s. So each of the s² phases
 * is a stride-1 correlation of dy with a flipped, strided slice of the filter, and
 * DepthToSpace interleaves the phases back. Same multiply count as the direct sum,
 * none of the zeros a dilate-then-convolve approach would multiply.
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
    let padded = filter;
    if (th * s !== kh || tw * s !== kw) {
      const paddings = [[0, th * s - kh], [0, tw * s - kw], [0, 0], [0, 0]];
      padded = run('PadV2', { x: filter }, { paddings, constantValue: 0 } as unknown as tf.NamedAttrMap);
    }
    const phases: tf.TensorInfo[] = [];
    for (let ry = 0; ry < s; ry++) {
      for (let rx = 0; rx < s; rx++) {
        const rhoY = (ry + top) % s;
        const rhoX = (rx + left) % s;
        const qy = Math.floor((ry + top) / s);
        const qx = Math.floor((rx + left) / s);
        // Taps i = ρ + s·k, flipped (correlation), in/out channels swapped.
        const taps = run(
          'StridedSlice',
          { x: padded },
          {
            begin: [rhoY, rhoX, 0, 0],
            end: [th * s, tw * s, C, o],
            strides: [s, s, 1, 1],
            beginMask: 0,
            endMask: 0,
            ellipsisMask: 0,
            newAxisMask: 0,
            shrinkAxisMask: 0,
          },
        );
        const flipped = run('Reverse', { x: taps }, { dims: [0, 1] });
        const subFilter = run('Transpose', { x: flipped }, { perm: [0, 1, 3, 2] });
        // Output a of this phase reads dy rows a − (th − 1 − qy) … a + qy.
        const padTop = th - 1 - qy;
        const padLeft = tw - 1 - qx;
        const padBottom = ha - oh - padTop + th - 1;
        const padRight = wa - ow - padLeft + tw - 1;
        const usedTop = Math.max(0, padTop);
        const usedLeft = Math.max(0, padLeft);
        let phase = run(
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
        if (phase.shape[1] !== ha || phase.shape[2] !== wa) {
          phase = run('Slice', { x: phase }, { begin: [0, usedTop - padTop, usedLeft - padLeft, 0], size: [N, ha, wa, C] });
        }
        phases.push(phase);
      }
    }
    let dx = phases[0]!;
    if (s > 1) {
      const stacked = run('Concat', phases, { axis: 3 });
      dx = run('DepthToSpace', { x: stacked }, { blockSize: s, dataFormat: 'NHWC' });
    }
    if (dx.shape[1] !== H || dx.shape[2] !== W) {
      dx = run('Slice', { x: dx }, { begin: [0, 0, 0, 0], size: [N, H, W, C] });
    }
    temps.splice(temps.indexOf(dx), 1);
    return dx;
  } finally {
    for (const t of temps) disposeInfo(backend, t);
  }
}
