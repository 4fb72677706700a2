/**
 * The one place the engine imports TensorFlow.js from.
 *
 * tfjs-core does not register any gradient in its package entry point; the gradient
 * definitions only exist as extension-less ES modules under dist/, which Node's own
 * loader cannot run. The build externalizes every '@tensorflow/*' specifier, so the
 * file is imported by path: the bundler (electron-vite for the worker, vite for
 * vitest, later a browser bundle) then inlines it. Its registrations land in the
 * global registry that the externalized tfjs-core copy also reads (tfjs keeps its
 * engine and registries on globalThis precisely so that several copies can share them).
 */
import '../../node_modules/@tensorflow/tfjs-core/dist/register_all_gradients.js';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Sum's and Mean's gradients: dy spread back over the axes they reduced, as tfjs's own do: dy
 * reshaped with those axes kept as 1, times ones of x's shape. tfjs makes the ones with
 * `tf.ones`, which fills a new JavaScript buffer of x's size every call before the
 * backend copies it in: 14 of them, 3.6 MB, in each replica's step of the medium
 * 64×64×3 model at 8 images, buffers outside V8's heap that made it collect "for
 * external memory pressure" (docs/PERFORMANCE.md, gc27). `tf.fill` makes them with the
 * backend's Fill kernel instead (on wasm, in its heap); the same Mul then gives the same
 * gradient bit for bit. (A Tile of dy gives the same values too, but wasm's Tile is a
 * slow generic loop.)
 */
function registerSpreadGradient(kernelName: typeof tf.Sum | typeof tf.Mean): void {
  tf.registerGradient({
    kernelName,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as [tf.Tensor];
      const axes = tf.util.parseAxisParam((attrs as unknown as tf.SumAttrs | tf.MeanAttrs).axis, x.shape);
      const kept = x.shape.slice();
      for (const a of axes) kept[a] = 1;
      const spread = (): tf.Tensor => tf.mul(tf.reshape(dy as tf.Tensor, kept), tf.fill(x.shape, 1, 'float32'));
      if (kernelName === tf.Sum) return { x: spread };
      // A mean's gradient is the sum's divided by the count of values each mean reduced.
      const reduceSize = axes.reduce((size, a) => size * x.shape[a]!, 1);
      return { x: () => tf.div(spread(), reduceSize) };
    },
  });
}

registerSpreadGradient(tf.Sum);
registerSpreadGradient(tf.Mean);

export { tf };
