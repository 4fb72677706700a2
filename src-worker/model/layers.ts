import { tf } from '../engine/tf';

/** x·W + b, optionally followed by a ReLU. Plain ops so autodiff sees every step. */
export function dense(x: tf.Tensor2D, w: tf.Variable, b: tf.Variable, relu: boolean): tf.Tensor2D {
  return tf.tidy(() => {
    const y = tf.add(tf.matMul(x, w as tf.Tensor2D), b) as tf.Tensor2D;
    return relu ? tf.relu(y) : y;
  });
}

/** A convolution's filter [k, k, in, out] (transposed: [k, k, out, in]) and bias. */
export interface ConvLayer {
  f: tf.Variable;
  b: tf.Variable;
}

/** 'same'-padded convolution + bias, optionally followed by a ReLU. */
export function conv2d(x: tf.Tensor4D, layer: ConvLayer, stride: number, relu: boolean): tf.Tensor4D {
  return tf.tidy(() => {
    const y = tf.add(tf.conv2d(x, layer.f as tf.Tensor4D, stride, 'same'), layer.b) as tf.Tensor4D;
    return relu ? tf.relu(y) : y;
  });
}

/** 'same'-padded stride-2 transposed convolution to `outShape` + bias, optionally followed by a ReLU. */
export function deconv2d(x: tf.Tensor4D, layer: ConvLayer, outShape: [number, number, number, number], relu: boolean): tf.Tensor4D {
  return tf.tidy(() => {
    const y = tf.add(tf.conv2dTranspose(x, layer.f as tf.Tensor4D, outShape, 2, 'same'), layer.b) as tf.Tensor4D;
    return relu ? tf.relu(y) : y;
  });
}

/** Split the encoder head [N, 2d] into μ and log σ², each [N, d]. */
export function splitHead(head: tf.Tensor2D, latent: number): { mu: tf.Tensor2D; logVar: tf.Tensor2D } {
  return tf.tidy(() => {
    const [mu, logVar] = tf.split(head, [latent, latent], 1) as [tf.Tensor2D, tf.Tensor2D];
    return { mu, logVar };
  });
}

/** [x, y] side by side when there is a condition y (one-hot labels), else x itself. */
export function withCondition(x: tf.Tensor2D, y: tf.Tensor2D | null): tf.Tensor2D {
  return y === null ? x : (tf.concat([x, y], 1) as tf.Tensor2D);
}
