import { MIXTURE_COMPONENTS_DEFAULT, type DecoderKind, type RunConfig } from './config';

/**
 * Which decoder likelihood suits which pixels, and what the decoder network must output
 * for it: one rule each, read by the architectures (their last layer), the export (its
 * image head), the form (the suggested decoder and why) and the run page (whether a test
 * NLL is a likelihood of the data at all). See VAE-MATH.md, "Likelihoods for 8-bit images".
 */

/** What a dataset's pixels are: `binary` when every stored value is 0 or 255, else `8-bit`. */
export type PixelLevels = 'binary' | '8-bit';

export type DecoderChoice = Pick<RunConfig, 'decoder'> & Partial<Pick<RunConfig, 'mixtureComponents'>>;

/**
 * Raw outputs per sub-pixel of the discretized logistic mixture: for each of its K
 * components a mixture logit, a location (through a sigmoid, in [0, 1]) and a log scale.
 */
export const LOGISTIC_PARAMS = 3;

/**
 * Channels of the decoder's last layer per pixel. Bernoulli and Gaussian: one per image
 * channel (a logit, or the pre-sigmoid mean). Logistic mixture: 3·K per image channel,
 * laid out channel by channel, each as [K logits, K locations, K log scales]; the flat
 * output then reads as [sub-pixel, 3, K] in the order the image's values are stored.
 */
export function decoderOutputChannels(decoder: DecoderChoice, channels: number): number {
  return decoder.decoder === 'logistic' ? LOGISTIC_PARAMS * mixtureComponentsOf(decoder) * channels : channels;
}

export const mixtureComponentsOf = (decoder: DecoderChoice): number => decoder.mixtureComponents ?? MIXTURE_COMPONENTS_DEFAULT;

/**
 * The name of the decoder network's raw output: `x_mean` where the export's image is its
 * sigmoid (as every decoder before the mixture), `x_params` where an image head computes
 * the mean from the mixture's parameters.
 */
export function decoderOutputName(decoder: DecoderChoice): 'x_mean' | 'x_params' {
  return decoder.decoder === 'logistic' ? 'x_params' : 'x_mean';
}

/**
 * Where a logistic mixture's log scales start (the bias of their channels in the decoder's
 * last layer): e^−2 ≈ 0.135, a logistic whose standard deviation (s·π/√3 ≈ 0.25) is about
 * that of the pixels of photos on [0, 1]. A zero bias, as every other output starts, means
 * s = 1: wider than the whole pixel range, so every level scores about the same (worse than
 * 8 bits/dim), the locations get almost no gradient, and Adam needs hundreds of steps to
 * narrow it (docs/QUALITY.md: grey reconstructions after 12 epochs at 64×64×3).
 *
 * Conv decoders only, where that was measured. An MLP's output layer keeps a zero bias: on
 * near-binary images (the health test's bars, 12×12, 6 epochs) the narrow start left the
 * MLP at 3.57 bits/dim where the zero start reached 1.32, and planted noise no longer stood
 * out. A start read from the training set's pixel spread should replace both.
 */
export const LOGISTIC_INITIAL_LOG_SCALE = -2;

/** The last layer of a decoder network: its channels per pixel and its name. */
export interface DecoderHead {
  channels: number;
  name: 'x_mean' | 'x_params';
  /**
   * Initial bias of each of a pixel's channels (length `channels`), repeated over the pixels;
   * absent: zeros. Only where a start only learns slowly away from zero (a logistic mixture's log scales).
   */
  initialBias?: readonly number[];
}

/** The initial bias of a logistic mixture's channels: per image channel [K logits 0, K locations 0, K log scales]. */
function logisticInitialBias(components: number, channels: number): number[] {
  const one = [...new Array<number>(2 * components).fill(0), ...new Array<number>(components).fill(LOGISTIC_INITIAL_LOG_SCALE)];
  return Array.from({ length: channels }, () => one).flat();
}

export function decoderHead(decoder: DecoderChoice, channels: number): DecoderHead {
  const head: DecoderHead = { channels: decoderOutputChannels(decoder, channels), name: decoderOutputName(decoder) };
  if (decoder.decoder === 'logistic') head.initialBias = logisticInitialBias(mixtureComponentsOf(decoder), channels);
  return head;
}

/** True when every value is 0 or 255: pixels a Bernoulli decoder gives a true probability. */
export function binaryPixels(values: Uint8Array): boolean {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v !== 0 && v !== 255) return false;
  }
  return true;
}

/** What a dataset knows of its pixels; datasets imported before the check carry no `pixelLevels`. */
export interface PixelFacts {
  channels: number;
  settings: { binarize: boolean };
  stats?: { pixelLevels?: PixelLevels };
}

/**
 * A dataset's pixel levels: as measured at import, else (imported before that) binary
 * when the import binarized, 8-bit otherwise.
 */
export function pixelLevelsOf(dataset: PixelFacts): PixelLevels {
  return dataset.stats?.pixelLevels ?? (dataset.settings.binarize ? 'binary' : '8-bit');
}

export interface DecoderSuggestion {
  decoder: DecoderKind;
  /** Why, in a sentence for the form. */
  reason: string;
}

/**
 * The default decoder for a dataset: Bernoulli for binary pixels (its NLL is then exact),
 * the discretized logistic mixture for 8-bit grey or RGB pixels (a probability of each of
 * the 256 levels, so its test NLL and bits/dim compare with published figures).
 */
export function suggestDecoder(dataset: PixelFacts): DecoderSuggestion {
  const measured = dataset.stats?.pixelLevels !== undefined;
  if (pixelLevelsOf(dataset) === 'binary') {
    return {
      decoder: 'bernoulli',
      reason: `Every pixel is 0 or 1${measured ? '' : ' (binarized at import)'}: a Bernoulli decoder gives their exact probability.`,
    };
  }
  const what = dataset.channels === 3 ? 'RGB' : 'greyscale';
  return {
    decoder: 'logistic',
    reason: `8-bit ${what} pixels (256 levels): the logistic mixture gives each level a probability, so test NLL and bits/dim compare with published figures.`,
  };
}

/**
 * Why a decoder's test NLL is not a likelihood of this data, or null when it is. A
 * Bernoulli decoder scores grey levels as soft targets: a cross-entropy, not a probability
 * of the 256 levels, and its bits/dim compares with nothing.
 */
export function likelihoodCaveat(decoder: DecoderKind, levels: PixelLevels): string | null {
  if (decoder !== 'bernoulli' || levels === 'binary') return null;
  return 'A Bernoulli decoder on 8-bit pixels scores grey levels as soft targets: its NLL is a cross-entropy, not a likelihood of this data, and its bits/dim compares with nothing. Use the logistic decoder for figures that compare.';
}

/**
 * Test NLL in nats per image from the mean IWAE estimate of log p(x) (VAE-MATH.md):
 *   logistic, Bernoulli  a probability of the discrete pixels already: NLL = −log p̂(x);
 *   Gaussian             a density on y = (x·255 + u)/256, u ~ U[0, 1)^D, so
 *                        −log P(x) ≤ −E_u log p(y) + D·ln 256.
 * bits/dim = NLL / (D · ln 2), on the 0–255 scale (uniform over 256 levels = 8).
 */
export function nllFigures(meanLogLikelihood: number, pixels: number, decoder: DecoderKind): { nll: number; bitsPerDim: number } {
  const nll = decoder === 'gaussian' ? -meanLogLikelihood + pixels * Math.log(256) : -meanLogLikelihood;
  return { nll, bitsPerDim: nll / (pixels * Math.LN2) };
}
