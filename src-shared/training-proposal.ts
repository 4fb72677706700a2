import type { ArchitectureKind, EncoderInput } from './config';
import { modelFamilies, type ModelFamily } from './families';
import { convArchitectures, DEFAULT_CONV_PRESET, type ConvArchitecture, type ImageSides } from './conv';

/**
 * What a NEW run is proposed to train with where it differs from the schema's defaults:
 * one rule, read by the form (it fills the field in, with the reason under it) and by
 * `vae-studio train` (for the flag not given). The schema's defaults (config.ts) and the
 * presets (conv.ts) stay what a stored config means, so runs stored before a proposal
 * load, resume and retrain with the settings they were trained with.
 *
 * Today that is the model at 64 px and more (proposeArchitecture) and the encoder input
 * (proposeEncoderInput). qual26 also proposed a
 * scaled conv at 64 px and more without the layer norm at Adam 2e-3 (with the norm, Adam
 * above 1e-3 lost the posterior on uncentred input); with the centred input the preset's
 * layer norm at Adam 1e-3 was ahead of that in both seeds measured (docs/QUALITY.md,
 * centre27), so new runs keep the presets' norm and the schema's step size.
 */

/** The shorter side from which a scaled conv run gets the proposal. */
export const SCALED_CONV_PROPOSAL_MIN_SIDE = 64;

/**
 * The run settings a new run's proposal reads, as a request, the CLI's flags or the form
 * give them (absent: the defaults). Values are not trusted to be valid: one that is not a
 * setting's value gets no proposal (the core then refuses it, naming the field).
 */
export type ProposalSettings = Readonly<Partial<Record<'architecture' | 'convArch' | 'family', unknown>>>;

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
 * medium preset with its layer norm at Adam 1e-3, batch 16, 20 epochs, centring put the
 * bound about five epochs ahead and ended at 6.01 and 6.06 test bits/dim (seeds 1 and 2)
 * where the uncentred run had 6.35; at 28×28 (1 000 binarized digits, Bernoulli, 10
 * epochs, two seeds) the classic conv ended 12–17 nats worse with it and the MLP 1.5–3.3
 * better, so it is not proposed where it was not measured better. A config stored without
 * the field reads [0, 1], as it was trained.
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

export interface ArchitectureProposal {
  architecture: ArchitectureKind;
  /** Why, in a sentence for the form and the CLI (the model named before it). */
  reason: string;
}

/**
 * The model a new run on images of this size is proposed to train, when it is not the
 * schema's MLP: the convolutional model (the default scaled preset, then the centred
 * input above) at 64 px and more (SCALED_CONV_PROPOSAL_MIN_SIDE). Measured (docs/QUALITY.md,
 * "emoji28"): on 3 752 Twemoji at 64×64 RGB, 20 epochs, the medium preset's
 * reconstructions kept each drawing's figure, pose and colours and its samples had
 * shape, where the MLP's samples were translucent overlays of several training images
 * and its reconstructions smears wherever a drawing had no near-copy in training. Below
 * 64 px nothing is proposed: the MLP stays the schema's default (on 28 px digits the
 * classic conv measured better too, but that is the user's choice to make there).
 */
export function proposeArchitecture(image: ImageSides | null): ArchitectureProposal | null {
  if (image === null || Math.min(image.width, image.height) < SCALED_CONV_PROPOSAL_MIN_SIDE) return null;
  return {
    architecture: 'conv',
    reason: `At ${SCALED_CONV_PROPOSAL_MIN_SIDE} px and more its reconstructions keep shapes and colours, where an MLP's samples blur into overlays of training images.`,
  };
}
