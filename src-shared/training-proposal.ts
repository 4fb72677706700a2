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
  const family = settings.family ?? 'vae';
  const arch = settings.convArch ?? DEFAULT_CONV_PRESET;
  if (settings.architecture !== 'conv') return null;
  if (typeof family !== 'string' || !(modelFamilies as readonly string[]).includes(family) || (family as ModelFamily) === 'vqvae') return null;
  if (typeof arch !== 'string' || !(convArchitectures as readonly string[]).includes(arch) || (arch as ConvArchitecture) === 'classic') return null;
  if (Math.min(image.width, image.height) < SCALED_CONV_PROPOSAL_MIN_SIDE) return null;
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
 * What a new run's encoder reads (config encoderInput), with the reason the form shows
 * under the choice and `vae-studio train` prints. Every new run, whatever its model and
 * images: centring is what the networks of the literature do (2x − 1), it costs one
 * element-wise layer, and it was measured better or no worse where it was measured
 * (docs/QUALITY.md, centre27): on 64×64 RGB scenes, medium preset with its layer norm at
 * Adam 1e-3, two seeds, it reached in 20 epochs what the uncentred run did not, and at
 * 28×28 (digits, Bernoulli, MLP and classic conv, two seeds) the bound was the same or better.
 * A config stored without the field reads pixels in [0, 1], as it was trained.
 */
export const NEW_RUN_ENCODER_INPUT: EncoderInput = 'centred';

export const ENCODER_INPUT_REASON =
  'Centred: the encoder reads 2x − 1 (pixels in [−1, 1]); decoder and bound are unchanged. Proposed for every new run: on 64 px RGB scenes it trained faster and ended ahead, on 28 px digits it was as good. Runs stored before it read [0, 1].';
