import { tf } from '../../engine/tf';
import { asBackend, disposeInfo, runBackendKernel } from './kernel-utils';

/**
 * Conv2DBackpropFilter for backends that lack it (stock tfjs wasm), built from their
 * own Conv2D, Transpose and Slice kernels.
 *
 * The filter gradient of y = conv(x, W; stride s, padding (top, left)) is
 *   dW[i, j, c, o] = Σ_{n, p, q} x[n, s·p + i − top, s·q + j − left, c] · dy[n, p, q, o],
 * which is itself a stride-1 convolution with dilation s: treat the input channels c
 * as the batch (x → [C, H, W, N]) and dy as the filter (dy → [P, Q, N, O]), so the
 * batch dimension N is the contraction. The result [C, KH', KW', O] is cropped to the
 * filter size and transposed to [KH, KW, C, O]. Same arithmetic as the direct sum,
 * run on the backend's optimized convolution.
 */
export function conv2dBackpropFilterConfig(backendName: string): tf.KernelConfig {
  return {
    kernelName: tf.Conv2DBackpropFilter,
    backendName,
    kernelFunc: ({ inputs, backend: rawBackend, attrs }) => {
      const backend = asBackend(rawBackend);
      const x = inputs['x'];
      const dy = inputs['dy'];
      if (x === undefined || dy === undefined) throw new Error('Conv2DBackpropFilter needs x and dy');
      const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
      if (dataFormat !== 'NHWC') throw new Error(`Conv2DBackpropFilter: only NHWC is supported, got ${dataFormat}`);
      const info = tf.backend_util.computeConv2DInfo(
        x.shape as [number, number, number, number],
        filterShape,
        strides,
        1,
        pad,
        dimRoundingMode,
      );
      const [kh, kw, inC, outC] = filterShape;
      const { strideHeight: sh, strideWidth: sw, inHeight, inWidth, outHeight, outWidth } = info;
      const { top, left } = info.padInfo;
      // Output size of the dilated conv is in + top + bottom − s·(out − 1); pad the far
      // side just enough to reach the filter size, crop if it overshoots.
      const bottom = Math.max(0, kh - (inHeight + top - sh * (outHeight - 1)));
      const right = Math.max(0, kw - (inWidth + left - sw * (outWidth - 1)));

      const run = (name: string, ins: tf.NamedTensorInfoMap, a: tf.NamedAttrMap): tf.TensorInfo =>
        runBackendKernel(name, backendName, backend, ins, a);
      const temps: tf.TensorInfo[] = [];
      try {
        const xT = run('Transpose', { x }, { perm: [3, 1, 2, 0] });
        temps.push(xT);
        const dyT = run('Transpose', { x: dy }, { perm: [1, 2, 0, 3] });
        temps.push(dyT);
        const full = run(
          'Conv2D',
          { x: xT, filter: dyT },
          {
            strides: [1, 1],
            pad: [
              [0, 0],
              [top, bottom],
              [left, right],
              [0, 0],
            ],
            dataFormat: 'NHWC',
            dilations: [sh, sw],
            dimRoundingMode: 'floor',
          } as unknown as tf.NamedAttrMap,
        );
        temps.push(full);
        let cropped = full;
        if (full.shape[1] !== kh || full.shape[2] !== kw) {
          cropped = run('Slice', { x: full }, { begin: [0, 0, 0, 0], size: [inC, kh, kw, outC] });
          temps.push(cropped);
        }
        return run('Transpose', { x: cropped }, { perm: [1, 2, 0, 3] });
      } finally {
        for (const t of temps) disposeInfo(backend, t);
      }
    },
  };
}
