import type { ModelCard } from '@shared/model-card';

/**
 * The README.md of an export: what each network computes, for the model's family, how
 * well it does and how to run it elsewhere. Everything here is also in model-card.json.
 */
export function exportReadme(card: ModelCard): string {
  const m = card.metrics;
  const fig = (v: number | null, digits = 2): string => (v === null ? 'not computed' : v.toFixed(digits));
  const a = card.architecture;
  const layers = (a.networks ?? [
    { name: 'encoder', layers: a.encoder },
    { name: 'decoder', layers: a.decoder },
  ]).map((n) => `- ${n.name}: ${n.layers.join('; ')}.`);

  return `# ${card.name}

${card.description}

Exported by VAE Studio ${card.app.version} on ${card.exportedAt} from run #${card.source.runId}, its **${card.source.checkpoint}** checkpoint
(epoch ${card.source.epoch}, step ${card.source.step}). Every figure and setting is in \`model-card.json\`.

## What it computes

${computes(card).join('\n')}
- Likelihood: ${card.decoder.likelihood}${card.decoder.gaussianSigma !== null ? ` (σ ${card.decoder.gaussianSigma}, variance ${card.decoder.variance})` : ''}${card.decoder.mixtureComponents !== undefined ? ` (K = ${card.decoder.mixtureComponents} per sub-pixel)` : ''}. ${card.decoder.output}
- Pixels: ${card.preprocessing.normalization}; ${card.preprocessing.layout}. Images were fitted to ${card.preprocessing.width}×${card.preprocessing.height} by "${card.preprocessing.fit}"${card.preprocessing.fit === 'pad' ? ` on ${card.preprocessing.background}` : ''}.

Layers (\`name ← inputs: Op → shape\`):
${layers.join('\n')}

${a.parameters.toLocaleString('en-US')} parameters.

## How well it does

${a.family === 'vqvae' ? 'Test NLL bound (−log p(x|z_q) − log π(codes))' : `Test NLL (IWAE bound, k = ${fig(m.iwaeK, 0)})`}: ${fig(m.testNll)} nats, ${fig(m.testBpd, 4)} bits/dim${m.final['test_images'] === undefined ? '' : `, on ${m.final['test_images']} of ${m.final['test_images_total'] ?? m.final['test_images']} test images`}.
Validation loss: ${fig(m.final['val_loss'] ?? null)} nats.${a.family === 'm2' ? ` Test accuracy of the classifier: ${m.final['test_accuracy'] === undefined ? 'not computed' : `${(m.final['test_accuracy'] * 100).toFixed(1)} %`}.` : ''} Trained on ${card.backend.name ?? 'an unknown backend'}.
Dataset "${card.dataset.name}" (${card.dataset.count} images, sha256 ${card.dataset.contentHash.slice(0, 16)}…), labels: ${card.dataset.labels.join(', ') || 'none'}.
All recorded metrics: \`metrics.csv\`. Sample grids: \`samples/\`.

## Use it elsewhere
${usage(card)}
In VAE Studio: *Import model* on the Runs screen (or \`vae-studio import-model <this>\`) brings it back with
${card.heldout.count} held-out images (${card.heldout.split} split) for Explore and Inpaint.
`;
}

/** The bullet list of networks and what their inputs and outputs mean. */
function computes(card: ModelCard): string[] {
  const a = card.architecture;
  const p = card.preprocessing;
  const x = `\`x\` [N, ${p.height}, ${p.width}, ${p.channels}]`;
  const xMean = `\`x_mean\` [N, ${p.height}, ${p.width}, ${p.channels}] in [0, 1]`;
  if (a.codes) {
    const { size: K, dim: e, positions: L, grid } = a.codes;
    const gridDims = a.kind === 'conv' ? `${grid[0]}, ${grid[1]}` : `${L}`;
    return [
      `- **Encoder**: ${x} → \`z_e\` [N, ${gridDims}, ${e}] (the encoder's vectors) and \`code_scores\` [N, ${gridDims}, ${K}].`,
      `  The code of each position is the **argmax of \`code_scores\`**: its nearest of the ${K} codebook vectors (scores 2·z_eᵀe_k − ‖e_k‖²).`,
      `- **Decoder**: \`codes\` [N, ${L}] int32, the code indices in raster order (row by row) → ${xMean}. The codebook lookup is its first layer (\`z_q\`).`,
      a.codes.priorTrained
        ? `- **Prior** π(codes), autoregressive (MADE) in raster order: \`codes_onehot\` [N, ${L * K}] (position i's one-hot at ${K}·i…${K}·i + ${K - 1}) → \`logits\` [N, ${L}, ${K}].
  The logits of position i depend only on the codes before i. To sample: start with all-zero one-hots; for i = 0…${L - 1}, run the prior,
  draw code i from softmax(logits[i]) and set its one-hot; then decode the codes. log π(codes) = Σ_i log softmax(logits[i])[code_i].`
        : '- **No prior was exported**: the run stopped before its prior epochs (or had none), so the model scores codes as uniform; sample codes uniformly to generate.',
    ];
  }
  const d = a.latent;
  const y = a.classes > 0 ? `, \`y\` [N, ${a.classes}]` : '';
  const lines = [
    `- **Encoder**: ${x}${y} → \`mu\`, \`log_var\` [N, ${d}]: q0(z|x${a.classes > 0 ? ', y' : ''}) = N(mu, exp(log_var)).`,
  ];
  if (a.classes > 0) {
    lines.push(`- \`y\` is the **one-hot class**, in this order: ${card.dataset.labels.map((l, i) => `${i} = ${l}`).join(', ')}.`);
  }
  if (a.flow === 'iaf') {
    const steps = a.flowSteps;
    lines.push(
      `- **Inverse autoregressive flow** (${steps} steps): the encoder also outputs \`flow_context\` h [N, ${a.flowContext}], and each step is a network \`iaf_step<k>\`: \`z\` [N, ${d}], \`h\` → \`m\`, \`s\` [N, ${d}].`,
      `  Draw z0 = mu + exp(log_var / 2)·ε, then for k = 0…${steps - 1}: (m, s) = iaf_step<k>(z, h), σ = sigmoid(s), z ← σ·z + (1 − σ)·m.`,
      `  The posterior sample is the last z; log q(z|x) = log q0(z0|x) − Σ_k Σ_j log σ_kj. (Step k's m_j and s_j depend on z's earlier dimensions only, the order reversed on odd steps.)`,
    );
  } else if (a.flowSteps > 0) {
    const w = 2 * d + 1;
    lines.push(
      `- **Planar flow** (${a.flowSteps} steps): the encoder also outputs \`flow_params\` [N, ${a.flowSteps * w}], per image; step k uses columns ${w}·k…${w}·k + ${w - 1}: u (${d}), w (${d}), b (1).`,
      `  Draw z0 = mu + exp(log_var / 2)·ε, then for each step: û = u + (softplus(wᵀu) − 1 − wᵀu)·w/‖w‖², h = tanh(wᵀz + b), z ← z + û·h.`,
      `  The posterior sample is the last z; log q(z|x) = log q0(z0|x) − Σ_k log|1 + (1 − h_k²)·wᵀû|.`,
    );
  }
  lines.push(`- **Decoder**: \`z\` [N, ${d}]${y} → ${xMean}. Prior p(z) = N(0, I)${a.classes > 0 ? ', p(y) uniform' : ''}.`);
  if (a.family === 'm2') lines.push(`- **Classifier** q(y|x): ${x} → \`logits\` [N, ${a.classes}]; class probabilities = softmax(logits).`);
  return lines;
}

/** Code to run the export with TensorFlow.js and onnxruntime. */
function usage(card: ModelCard): string {
  const a = card.architecture;
  const [h, w, ch] = [card.preprocessing.height, card.preprocessing.width, card.preprocessing.channels];
  const vq = a.codes !== null;
  const L = a.codes?.positions ?? 0;
  const K = a.codes?.size ?? 0;
  const label = a.classes > 0;
  const tfjsInput = vq
    ? `tf.tensor2d(new Int32Array(${L}).fill(0), [1, ${L}], 'int32')`
    : label
      ? `[tf.randomNormal([1, ${a.latent}]), tf.oneHot([0], ${a.classes}).toFloat()]`
      : `tf.randomNormal([1, ${a.latent}])`;
  const onnxFeed = vq
    ? `{"codes": np.random.randint(0, ${K}, (1, ${L})).astype(np.int32)}`
    : label
      ? `{"z": np.random.randn(1, ${a.latent}).astype(np.float32), "y": np.eye(${a.classes}, dtype=np.float32)[[0]]}`
      : `{"z": np.random.randn(1, ${a.latent}).astype(np.float32)}`;
  const names = (a.networks ?? []).map((n) => `${n.name}: ${n.inputs.join(', ')} → ${n.outputs.join(', ')}`).join('; ');
  let text = '';
  if (card.formats.tfjs) {
    text += `
TensorFlow.js (\`tfjs/<network>/\`, layers format; several inputs go in a list, in the order above):

\`\`\`js
import * as tf from '@tensorflow/tfjs';
const decoder = await tf.loadLayersModel('https://…/tfjs/decoder/model.json');
const image = decoder.predict(${tfjsInput}); // [1, ${h}, ${w}, ${ch}]
\`\`\`
`;
  }
  if (card.formats.onnx) {
    text += `
ONNX (\`onnx/<network>.onnx\`, opset 13${names ? `; ${names}` : ''}):

\`\`\`python
import numpy as np, onnxruntime as ort
decoder = ort.InferenceSession("onnx/decoder.onnx")
image = decoder.run(["x_mean"], ${onnxFeed})[0]
\`\`\`
`;
  }
  return text;
}
