import { readdir, realpath, stat } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';
import type { SkippedFile } from '@shared/types';

export const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.gif', '.tif', '.tiff', '.bmp', '.dib']);

export interface ScannedFile {
  path: string;
  /** First-level subfolder name, or '' for files at the top level. */
  label: string;
}

export interface ScanResult {
  files: ScannedFile[];
  skipped: SkippedFile[];
}

/**
 * Walks a folder recursively. Symlinked folders are followed once (a loop is reported,
 * not walked forever); unreadable entries are reported with their reason.
 */
export async function scanFolder(root: string, signal?: AbortSignal): Promise<ScanResult> {
  const files: ScannedFile[] = [];
  const skipped: SkippedFile[] = [];
  const seen = new Set<string>();

  const walk = async (dir: string, label: string | null): Promise<void> => {
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
      const full = join(dir, entry.name);
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        try {
          const target = await stat(full);
          isDir = target.isDirectory();
          isFile = target.isFile();
        } catch (error) {
          skipped.push({ path: full, reason: describeFsError(error) });
          continue;
        }
      }
      if (isDir) {
        await walk(full, label ?? entry.name);
      } else if (isFile) {
        if (IMAGE_EXTENSIONS.has(extname(entry.name).toLowerCase())) {
          files.push({ path: full, label: label ?? '' });
        } else {
          skipped.push({ path: full, reason: `not an image file type (${extname(entry.name) || 'no extension'})` });
        }
      }
    }
  };

  await walk(root, null);
  return { files, skipped };
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
      return 'does not exist (broken link?)';
    case 'ELOOP':
      return 'symlink loop';
    default:
      return error instanceof Error ? error.message : String(error);
  }
}
