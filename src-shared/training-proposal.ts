import { modelFamilies, type ModelFamily } from './families';
import { convArchitectures, convDesignOf, DEFAULT_CONV_PRESET, type ConvArchitecture, type ConvDesign, type ImageSides } from './conv';

/**
 * What a NEW run is proposed to train with, where it differs from the schema's defaults:
 * one rule, read by the form (the batch size it fills in, with the reason under it) and by
 * `vae-studio train` (when --batch is not given). The schema's defaults (config.ts) stay
 * what a stored config without the field means, so runs stored before this proposal load
 * with the batch they were trained with.
 *
 * Scaled conv (small, medium, large) at 64 px and more, every family but VQ-VAE: batch 16.
 * Measured on 3 000 generated 64×64 RGB scenes, medium preset, logistic decoder, latent 16,
 * Adam 1e-3 (docs/QUALITY.md): at batch 16 the validation −ELBO after 7 epochs (7.04
 * bits/dim) was what batch 64 reached after 13; a step of 16 costs about 1.3–1.5× the CPU
 * per image of a step of 64, so it stays ahead at the same training time. At 64 px an epoch of a few thousand images is only a few dozen
 * steps of 64, and these networks learn in steps. Measured, not proposed: Adam 3e-3
 * (with or without 300 steps of KL warm-up) collapsed the posterior within two epochs
 * at batch 16, and latent 64 collapsed in the first epoch.
 */
export const SCALED_CONV_PROPOSED_BATCH = 16;

/** The shorter side from which a scaled conv run is proposed SCALED_CONV_PROPOSED_BATCH. */
export const SCALED_CONV_PROPOSAL_MIN_SIDE = 64;

export interface TrainingProposal {
  batchSize: number;
  /** Why, in a sentence for the form and the CLI. */
  reason: string;
}

/** What decides the proposal: the images' size, the conv design (null: classic or no conv) and the family. */
export interface ProposalFacts {
  image: ImageSides;
  /** The run's conv design, null for classic; undefined for an MLP. */
  design: ConvDesign | undefined;
  family: ModelFamily;
}

/** The settings proposed for a new run on these facts, or null where the schema's defaults are the proposal. */
export function proposeTraining(facts: ProposalFacts): TrainingProposal | null {
  const { image, design, family } = facts;
  if (design === undefined || design === null || family === 'vqvae') return null;
  if (Math.min(image.width, image.height) < SCALED_CONV_PROPOSAL_MIN_SIDE) return null;
  return {
    batchSize: SCALED_CONV_PROPOSED_BATCH,
    reason: `Batch ${SCALED_CONV_PROPOSED_BATCH} for a scaled conv at ${SCALED_CONV_PROPOSAL_MIN_SIDE} px and more: four times the optimizer steps of batch 64 per epoch; these networks learn in steps, and on 64×64 RGB images it was ahead at the same training time.`,
  };
}

/**
 * The run settings a new run's proposal reads, as a request, the CLI's flags or the form
 * give them (absent: the defaults). Values are not trusted to be valid: one that is not a
 * setting's value gets no proposal (the core then refuses it, naming the field).
 */
export type ProposalSettings = Readonly<Partial<Record<'architecture' | 'convArch' | 'convWidth' | 'convResBlocks' | 'convNorm' | 'family', unknown>>>;

const numberOrAbsent = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

/**
 * The proposal for a new run with these settings on images of this size: a conv run
 * naming no design gets the default preset (newRunConfig), so it is proposed for too.
 */
export function proposeForNewRun(image: ImageSides, settings: ProposalSettings): TrainingProposal | null {
  const family = settings.family ?? 'vae';
  const arch = settings.convArch ?? DEFAULT_CONV_PRESET;
  if (typeof family !== 'string' || !(modelFamilies as readonly string[]).includes(family)) return null;
  if (settings.architecture !== 'conv') return proposeTraining({ image, design: undefined, family: family as ModelFamily });
  if (typeof arch !== 'string' || !(convArchitectures as readonly string[]).includes(arch)) return null;
  const norm = settings.convNorm;
  const design = convDesignOf({
    architecture: 'conv',
    convArch: arch as ConvArchitecture,
    convWidth: numberOrAbsent(settings.convWidth),
    convResBlocks: numberOrAbsent(settings.convResBlocks),
    convNorm: norm === 'none' || norm === 'layer' ? norm : undefined,
  });
  return proposeTraining({ image, design, family: family as ModelFamily });
}
