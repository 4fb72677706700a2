import sharp from 'sharp';

export interface DecodeSettings {
  size: number;
  channels: 1 | 3;
}

/** Pixel-count ceiling against decompression bombs (a 50 000² PNG header is refused). */
export const MAX_INPUT_PIXELS = 100_000_000;

/**
 * Decodes one image file to `size`×`size`×`channels` uint8, EXIF orientation applied,
 * transparency composited on black. Throws with a reason a person can act on.
 */
export async function decodeImage(path: string, settings: DecodeSettings): Promise<Uint8Array> {
  let pipeline = sharp(path, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'error', pages: 1 })
    .rotate()
    .flatten({ background: '#000000' })
    .resize(settings.size, settings.size, { fit: 'fill', kernel: 'lanczos3' });
  pipeline = settings.channels === 1 ? pipeline.grayscale() : pipeline.toColourspace('srgb');
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== settings.channels) {
    // grayscale() can still yield 2 channels if alpha survives; keep the first ones.
    const out = new Uint8Array(settings.size * settings.size * settings.channels);
    for (let i = 0, j = 0; i < out.length; i += settings.channels, j += info.channels) {
      for (let c = 0; c < settings.channels; c++) out[i + c] = data[j + c]!;
    }
    return out;
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export function describeDecodeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (/pixel limit/i.test(message)) return `image is larger than ${MAX_INPUT_PIXELS.toLocaleString('en')} pixels`;
  if (/unsupported image format/i.test(message)) return 'not a readable image (unsupported or corrupt format)';
  if (/EACCES|permission/i.test(message)) return 'permission denied';
  if (/premature end|truncated|corrupt|VipsJpeg|pngload|Input buffer/i.test(message)) return `corrupt or truncated image: ${message.split('\n')[0]}`;
  return message.split('\n')[0] ?? message;
}
