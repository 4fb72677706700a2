import type { EncoderInput } from './config';
import { modelFamilies, type ModelFamily } from './families';
import { convArchitectures, convNorms, DEFAULT_CONV_PRESET, type ConvArchitecture, type ConvNorm, type ImageSides } from './conv';

/**
 * What a NEW run is proposed to train with where it differs from the schema's defaults:
 * one rule, read by the form (it fills the fields in, with the reason under them) and by
 * `vae-studio train` (for the flags not given). The schema's defaults (config.ts) and the
 * presets (conv.ts) stay what a stored config means, so runs stored before this proposal
 * load, resume and retrain with the settings they were trained with.
 *
 * Scaled conv (small, medium, large) at 64 px and more, every Gaussian-latent family (not
 * VQ-VAE, which has no KL): no layer norm, and Adam 2e-3 where the run has no layer norm.
 * Measured on 3 000 generated 64×64 RGB scenes, medium preset, logistic decoder, latent 16,
 * batch 16, one seed per setting (docs/QUALITY.md, qual25 and qual26): with the preset's
 * layer norm every Adam step size above 1e-3 lost the posterior (2e-3, 3e-3, also with
 * 300 steps of KL warm-up) or left it unused for three epochs (2e-3 with free bits 0.5);
 * without the norm 2e-3 kept all 16 latent dims in use, each epoch took about a fifth less
 * time side by side, and after 20 epochs the test bound was the norm's at 1e-3 (6.36
 * against 6.35 bits/dim) with the objects' colour in the samples, where the norm's had grey
 * smudges. Not measured: the large preset and the small one at 2e-3, other seeds, batch 64.
 */
export const SCALED_CONV_PROPOSED_NORM: ConvNorm = 'none';
export const SCALED_CONV_PROPOSED_LEARNING_RATE = 2e-3;

/** The shorter side from which a scaled conv run gets the proposal. */
export const SCALED_CONV_PROPOSAL_MIN_SIDE = 64;

export interface TrainingProposal {
  /** The normalisation proposed for the run's conv stages. */
  convNorm: ConvNorm;
  /** Adam's step size proposed for the run's norm (absent: the schema's default, as with a layer norm). */
  learningRate?: number;
  /** Why, in a sentence for the form and the CLI. */
  reason: string;
}

/**
 * The run settings a new run's proposal reads, as a request, the CLI's flags or the form
 * give them (absent: the defaults; convNorm absent: the proposal's). Values are not
 * trusted to be valid: one that is not a setting's value gets no proposal (the core then
 * refuses it, naming the field).
 */
export type ProposalSettings = Readonly<Partial<Record<'architecture' | 'convArch' | 'convNorm' | 'family', unknown>>>;

/**
 * The proposal for a new run with these settings on images of this size, or null where
 * the schema's defaults are the proposal: a conv run naming no design gets the default
 * preset (newRunConfig), so it is proposed for too; classic, the MLP, VQ-VAE and images
 * under 64 px are left as they were (nothing was measured there). The learning rate is
 * proposed only for a run without a layer norm: the norm named, or the one proposed.
 */
export function proposeForNewRun(image: ImageSides, settings: ProposalSettings): TrainingProposal | null {
  if (!scaledConvAtSize(image, settings)) return null;
  const named = settings.convNorm;
  if (named !== undefined && (typeof named !== 'string' || !(convNorms as readonly string[]).includes(named))) return null;
  const norm = (named as ConvNorm | undefined) ?? SCALED_CONV_PROPOSED_NORM;
  const why = `a scaled conv at ${SCALED_CONV_PROPOSAL_MIN_SIDE} px and more trains without the layer norm at Adam 2e-3: with the norm, Adam above 1e-3 lost the posterior on 64×64 RGB images; without it each step is cheaper and 2e-3 kept every latent dimension in use.`;
  if (norm !== 'none') {
    return { convNorm: SCALED_CONV_PROPOSED_NORM, reason: `Proposed: no layer norm and Adam 2e-3 — ${why} With a layer norm keep Adam at 1e-3.` };
  }
  return { convNorm: norm, learningRate: SCALED_CONV_PROPOSED_LEARNING_RATE, reason: `No layer norm, Adam 2e-3: ${why}` };
}

/**
 * Whether a new run with these settings on these images is one the measured proposals are
 * for: a scaled conv (small, medium, large, or the default preset a conv run naming none
 * gets) of a Gaussian-latent family at 64 px and more. Values that are not a setting's get
 * none (the core refuses them, naming the field).
 */
function scaledConvAtSize(image: ImageSides, settings: ProposalSettings): boolean {
  const family = settings.family ?? 'vae';
  const arch = settings.convArch ?? DEFAULT_CONV_PRESET;
  if (settings.architecture !== 'conv') return false;
  if (typeof family !== 'string' || !(modelFamilies as readonly string[]).includes(family) || (family as ModelFamily) === 'vqvae') return false;
  if (typeof arch !== 'string' || !(convArchitectures as readonly string[]).includes(arch) || (arch as ConvArchitecture) === 'classic') return false;
  return Math.min(image.width, image.height) >= SCALED_CONV_PROPOSAL_MIN_SIDE;
}

export interface EncoderInputProposal {
  /** What the encoder is proposed to read. */
  encoderInput: EncoderInput;
  /** Why, in a sentence for the form and the CLI. */
  reason: string;
}

/**
 * What a new run's encoder is proposed to read (config encoderInput): centred (2x − 1) for
 * the runs the 64 px measurements were made on — a scaled conv of a Gaussian-latent family
 * at 64 px and more — and pixels in [0, 1], what the schema's absence means, for the rest.
 * Measured (docs/QUALITY.md, qual26 and centre27): on 3 000 generated 64×64 RGB scenes, the
 * medium preset with its layer norm at Adam 1e-3, batch 16, two seeds, centring put the
 * bound about five epochs ahead and ended 0.33 bits/dim better after 20 epochs (seed 1);
 * at 28×28 (1 000 binarized digits, Bernoulli, 10 epochs, two seeds) the classic conv ended
 * worse with it and the MLP slightly better, so it is not proposed where it was not measured
 * better. A config stored without the field reads [0, 1], as it was trained.
 */
export function proposeEncoderInput(image: ImageSides | null, settings: ProposalSettings): EncoderInputProposal {
  if (image !== null && scaledConvAtSize(image, settings)) {
    return {
      encoderInput: 'centred',
      reason: `Centred: the encoder reads 2x − 1 (pixels in [−1, 1]); decoder and bound are unchanged. A scaled conv at ${SCALED_CONV_PROPOSAL_MIN_SIDE} px and more trained faster with it on 64×64 RGB images and ended ahead.`,
    };
  }
  return {
    encoderInput: 'unit',
    reason: `Not centred: the encoder reads pixels in [0, 1], as runs stored before the setting did. Centring is proposed for a scaled conv at ${SCALED_CONV_PROPOSAL_MIN_SIDE} px and more, where it was measured better; on 28 px digits the classic conv did worse with it.`,
  };
}
