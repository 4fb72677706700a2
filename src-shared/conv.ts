/**
 * The conv stack's geometry, the one rule every layer checks a dataset against: two
 * 4×4 stride-2 convolutions halve the image twice, so each side must be a multiple of
 * CONV_DOWNSAMPLE and at least CONV_MIN_SIDE (declared in model-export/architectures.ts).
 */
export const CONV_STRIDE = 2;
export const CONV_DOWNSAMPLE = CONV_STRIDE * CONV_STRIDE;
export const CONV_MIN_SIDE = 2 * CONV_DOWNSAMPLE;

export interface ImageSides {
  width: number;
  height: number;
}

export function convFits(image: ImageSides): boolean {
  const side = (n: number): boolean => n >= CONV_MIN_SIDE && n % CONV_DOWNSAMPLE === 0;
  return side(image.width) && side(image.height);
}

/** Why the conv model cannot take images of this size, or null when it can; callers add what to do next. */
export function convMisfit(image: ImageSides): string | null {
  if (convFits(image)) return null;
  return (
    `architecture 'conv' needs images at least ${CONV_MIN_SIDE}×${CONV_MIN_SIDE} px with each side a multiple of ${CONV_DOWNSAMPLE} ` +
    `(two stride-2 convolutions); this dataset is ${image.width}×${image.height}.`
  );
}
