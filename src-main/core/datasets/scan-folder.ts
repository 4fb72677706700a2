import type { Stats } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { ApiError, type ErrorCode } from '@shared/errors';
import { extname, join, relative, sep } from 'node:path';
import type { SkippedFile } from '@shared/types';

export const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.gif', '.tif', '.tiff', '.bmp', '.dib']);

export interface ScannedFile {
  path: string;
  /** First-level subfolder name, or '' for files at the top level. */
  top: string;
  /** Second-level subfolder name, or '' for files directly in `top` (or at the top level). */
  sub: string;
}

export interface ScanResult {
  files: ScannedFile[];
  skipped: SkippedFile[];
}

/** Files and folders one scan may visit: a folder holding more is not a dataset (a home folder, `/`). */
export const MAX_SCAN_ENTRIES = 1_000_000;

/** What kind of file system entry something that is not a regular file is, for a skipped reason. */
export function fileKind(info: Pick<Stats, 'isFIFO' | 'isCharacterDevice' | 'isBlockDevice' | 'isSocket' | 'isDirectory'>): string {
  if (info.isFIFO()) return 'a named pipe (FIFO)';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isSocket()) return 'a socket';
  if (info.isDirectory()) return 'a folder';
  return 'a special file';
}

const inside = (root: string, path: string): boolean => path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);

/**
 * Walks a folder recursively. Symbolic links are followed only where they lead to
 * something inside the chosen folder (a link out of it — to /etc, to /dev/zero — is
 * listed as skipped, not followed); a folder reached twice is a loop and is reported,
 * not walked again. Anything that is not a regular file or folder (a FIFO, a device, a
 * socket) and every unreadable entry is listed with its reason. Hidden entries are left
 * out. More than `maxEntries` entries end the scan with an error naming the folder.
 */
export async function scanFolder(root: string, signal?: AbortSignal, maxEntries = MAX_SCAN_ENTRIES): Promise<ScanResult> {
  const files: ScannedFile[] = [];
  const skipped: SkippedFile[] = [];
  const seen = new Set<string>();
  const realRoot = await realpath(root);
  let visited = 0;

  const walk = async (dir: string, top: string | null, sub: string | null): Promise<void> => {
    signal?.throwIfAborted();
    let real: string;
    try {
      real = await realpath(dir);
    } catch (error) {
      skipped.push({ path: dir, reason: describeFsError(error) });
      return;
    }
    if (seen.has(real)) {
      skipped.push({ path: dir, reason: 'symlink loop (folder already visited)' });
      return;
    }
    seen.add(real);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      skipped.push({ path: dir, reason: describeFsError(error) });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      if (++visited > maxEntries) {
        throw new ApiError(
          'invalid_input',
          `${root} holds more than ${maxEntries.toLocaleString('en')} files and folders; nothing was imported. Choose the folder that holds just the images.`,
          { field: 'folder' },
        );
      }
      const full = join(dir, entry.name);
      let kind: Pick<Stats, 'isFile' | 'isDirectory' | 'isFIFO' | 'isCharacterDevice' | 'isBlockDevice' | 'isSocket'> = entry;
      if (entry.isSymbolicLink()) {
        try {
          const target = await realpath(full);
          if (!inside(realRoot, target)) {
            skipped.push({ path: full, reason: `link to ${target}, outside the chosen folder: not followed (copy what it points to into the folder to import it)` });
            continue;
          }
          kind = await stat(target);
        } catch (error) {
          skipped.push({ path: full, reason: describeFsError(error) });
          continue;
        }
      }
      if (kind.isDirectory()) {
        await walk(full, top ?? entry.name, top === null ? null : (sub ?? entry.name));
      } else if (kind.isFile()) {
        if (IMAGE_EXTENSIONS.has(extname(entry.name).toLowerCase())) {
          files.push({ path: full, top: top ?? '', sub: sub ?? '' });
        } else {
          skipped.push({ path: full, reason: `not an image file type (${extname(entry.name) || 'no extension'})` });
        }
      } else {
        skipped.push({ path: full, reason: `not a regular file: ${fileKind(kind)}` });
      }
    }
  };

  await walk(root, null, null);
  return { files, skipped };
}

/**
 * Refuses a path that does not exist (`missing`, invalid_input unless told) or is not a
 * folder (invalid_input), naming the path and the request's `field`.
 */
export async function requireFolder(folder: string, field: string, missing: ErrorCode = 'invalid_input'): Promise<void> {
  let info;
  try {
    info = await stat(folder);
  } catch {
    throw new ApiError(missing, `Folder not found: ${folder}`, { field });
  }
  if (!info.isDirectory()) throw new ApiError('invalid_input', `Not a folder: ${folder}`, { field });
}

export function relativeTo(root: string, path: string): string {
  return relative(root, path).split(sep).join('/');
}

export function describeFsError(error: unknown): string {
  const code = (error as { code?: string }).code;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOENT':
      return 'does not exist (deleted during the import, or a broken link)';
    case 'ELOOP':
      return 'symlink loop';
    default:
      return error instanceof Error ? error.message : String(error);
  }
}
