/**
 * The conv networks' geometry, the one rule every layer checks a dataset against, and the
 * one place their stages and widths come from (model-export/architectures.ts builds them).
 *
 *   classic  what every conv run stored before presets existed: two 4×4 stride-2
 *            convolutions (32, 64 channels), so each side must be a multiple of
 *            CONV_DOWNSAMPLE and at least CONV_MIN_SIDE.
 *   scaled   (presets small, medium, large) one 4×4 stride-2 stage per halving, as many
 *            as the image size asks (convStages: 28 → 2, 32 → 3, 64 → 4, 128 → 5,
 *            256 → 6), channels width·2^i up to 8·width, optionally residual blocks
 *            at the deepest stage and a channel-wise layer normalisation. Any size from 8 px
 *            fits: 'same' convolutions round odd sides up (padding at the bottom and
 *            right), and the decoder crops its last layer back to the image.
 */
export const CONV_STRIDE = 2;
export const CONV_DOWNSAMPLE = CONV_STRIDE * CONV_STRIDE;
export const CONV_MIN_SIDE = 2 * CONV_DOWNSAMPLE;

/** The classic stack's channels. */
export const CLASSIC_CONV_CHANNELS = [32, 64] as const;

export interface ImageSides {
  width: number;
  height: number;
}

/** A conv model's design: `classic`, or a preset of the scaled family. Stored configs without one are classic. */
export const convArchitectures = ['classic', 'small', 'medium', 'large'] as const;
export type ConvArchitecture = (typeof convArchitectures)[number];
export type ConvPreset = Exclude<ConvArchitecture, 'classic'>;

/** What a new conv run gets when it names no architecture. */
export const DEFAULT_CONV_PRESET: ConvPreset = 'medium';

/** Normalisation after each stride-2 convolution: none, or a layer norm over each pixel's channels. */
export const convNorms = ['none', 'layer'] as const;
export type ConvNorm = (typeof convNorms)[number];

/**
 * Where a VQ-VAE on a scaled conv quantises (codeGrid):
 *   fine  the deepest stage whose grid keeps at least VQ_MIN_CODE_SIDE codes on its
 *         shorter side (vqCodeStages: 28 px → 7×7, 32 and 64 px → 8×8, 128 px → 8×8),
 *         as VQ-VAE papers quantise (32 px → 8×8, 64 px → 8×8 or 16×16), not a 4×4 grid
 *         that cannot place an object; what every new VQ run gets.
 *   last  the last stage's grid (64 px: 4×4), what scaled VQ runs stored before codeGrid
 *         existed were trained with (a stored config without codeGrid means this).
 */
export const codeGrids = ['fine', 'last'] as const;
export type CodeGrid = (typeof codeGrids)[number];

/** What a new scaled-conv VQ-VAE run gets when it names no codeGrid. */
export const DEFAULT_CODE_GRID: CodeGrid = 'fine';

/** The fewest codes on the shorter side of a 'fine' code grid (unless the image itself is smaller). */
export const VQ_MIN_CODE_SIDE = 7;

/**
 * A scaled conv network's settings: base width, residual blocks at the deepest stage, normalisation after each stride-2 convolution,
 * and for a VQ-VAE whether the stack stops at its code grid (codes 'fine') or runs every stage of the image size ('last' or absent).
 */
export interface ScaledConv {
  width: number;
  resBlocks: number;
  norm: ConvNorm;
  codes?: CodeGrid | undefined;
}

export const CONV_PRESETS: Record<ConvPreset, ScaledConv> = {
  small: { width: 8, resBlocks: 0, norm: 'none' },
  medium: { width: 16, resBlocks: 1, norm: 'layer' },
  large: { width: 32, resBlocks: 2, norm: 'layer' },
};

/** Bounds of the residual blocks per stage (convResBlocks). */
export const CONV_RES_BLOCKS = { min: 0, max: 3 } as const;

/** The widest a scaled stage gets, as a multiple of its base width. */
export const CONV_MAX_WIDTH_FACTOR = 8;

/** Bounds of the base width (convWidth). */
export const CONV_WIDTH = { min: 4, max: 128 } as const;

/** null: classic. */
export type ConvDesign = ScaledConv | null;

/**
 * Stride-2 stages of the scaled network for an image: one per halving of the shorter
 * side until about 4–7 px are left, at least one, at most 6.
 */
export function convStages(image: ImageSides): number {
  const side = Math.min(image.width, image.height);
  return Math.min(6, Math.max(1, Math.floor(Math.log2(side / 4))));
}

/**
 * Stride-2 stages before a VQ-VAE's 'fine' code grid: the most, up to convStages, that
 * keep at least VQ_MIN_CODE_SIDE codes on the shorter side; at least one.
 */
export function vqCodeStages(image: ImageSides): number {
  const side = Math.min(image.width, image.height);
  let stages = 1;
  while (stages < convStages(image) && shrink(side, stages + 1) >= VQ_MIN_CODE_SIDE) stages++;
  return stages;
}

/** A resolved conv stack: channels per stride-2 stage, residual blocks at the deepest, normalisation, and the grid it leaves. */
export interface ConvPlan {
  channels: number[];
  resBlocks: number;
  norm: boolean;
  /** [rows, cols] after the last stage. */
  grid: [number, number];
}

/** The side after `stages` 'same' stride-2 convolutions. */
function shrink(side: number, stages: number): number {
  let n = side;
  for (let i = 0; i < stages; i++) n = Math.ceil(n / CONV_STRIDE);
  return n;
}

export function convPlan(design: ConvDesign, image: ImageSides): ConvPlan {
  if (design === null) {
    return { channels: [...CLASSIC_CONV_CHANNELS], resBlocks: 0, norm: false, grid: [image.height / CONV_DOWNSAMPLE, image.width / CONV_DOWNSAMPLE] };
  }
  const stages = design.codes === 'fine' ? vqCodeStages(image) : convStages(image);
  return convPlanOfChannels(stageChannels(design.width, stages), design.resBlocks, design.norm === 'layer', image);
}

/** Channels of each scaled stage: width·2^i, at most CONV_MAX_WIDTH_FACTOR·width. */
export const stageChannels = (width: number, stages: number): number[] =>
  Array.from({ length: stages }, (_, i) => width * Math.min(2 ** i, CONV_MAX_WIDTH_FACTOR));

/** A plan from its channels (the export reads them off a checkpoint). */
export function convPlanOfChannels(channels: number[], resBlocks: number, norm: boolean, image: ImageSides): ConvPlan {
  return { channels, resBlocks, norm, grid: [shrink(image.height, channels.length), shrink(image.width, channels.length)] };
}

export function convFits(image: ImageSides, design: ConvDesign = null): boolean {
  if (design !== null) return image.width >= CONV_MIN_SIDE && image.height >= CONV_MIN_SIDE;
  const side = (n: number): boolean => n >= CONV_MIN_SIDE && n % CONV_DOWNSAMPLE === 0;
  return side(image.width) && side(image.height);
}

/** Why the conv model cannot take images of this size, or null when it can; callers add what to do next. */
export function convMisfit(image: ImageSides, design: ConvDesign = null): string | null {
  if (convFits(image, design)) return null;
  if (design !== null) return `architecture 'conv' needs images at least ${CONV_MIN_SIDE}×${CONV_MIN_SIDE} px; this dataset is ${image.width}×${image.height}.`;
  return (
    `architecture 'conv' (classic) needs images at least ${CONV_MIN_SIDE}×${CONV_MIN_SIDE} px with each side a multiple of ${CONV_DOWNSAMPLE} ` +
    `(two stride-2 convolutions); this dataset is ${image.width}×${image.height}. A scaled preset (convArch small, medium or large) takes any size.`
  );
}

/** The config fields a conv design is read from. */
export interface ConvFields {
  architecture: 'mlp' | 'conv';
  convArch?: ConvArchitecture | undefined;
  convWidth?: number | undefined;
  convResBlocks?: number | undefined;
  convNorm?: ConvNorm | undefined;
  /** A VQ-VAE's code grid ('vqvae' family only); absent: 'last', as stored before it existed. */
  family?: string | undefined;
  codeGrid?: CodeGrid | undefined;
}

/**
 * A config's conv design: absent convArch is classic (every conv run stored before presets); a preset's settings are overridden by the fields given.
 * A VQ-VAE's design says where its code grid is (codeGrid; absent: the last stage, as every scaled VQ run stored before it).
 */
export function convDesignOf(config: ConvFields): ConvDesign {
  const arch = config.convArch ?? 'classic';
  if (arch === 'classic') return null;
  const preset = CONV_PRESETS[arch];
  const design: ScaledConv = { width: config.convWidth ?? preset.width, resBlocks: config.convResBlocks ?? preset.resBlocks, norm: config.convNorm ?? preset.norm };
  if (config.family === 'vqvae' && config.codeGrid === 'fine') design.codes = 'fine';
  return design;
}
