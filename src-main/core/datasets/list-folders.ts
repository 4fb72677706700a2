import { opendir, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { ApiError } from '@shared/errors';
import { FOLDER_LIST_ENTRY_BUDGET, FOLDER_LIST_MAX, type FolderEntry, type FolderListing } from '@shared/folder-browser';
import { IMAGE_EXTENSIONS, requireFolder } from './scan-folder';

/**
 * One level of the web folder browser: the subfolders of `path` and, for each, how many
 * image files and folders it holds directly. Reads directory entries only — no file is
 * opened — and at most `budget` of them in all, so a huge tree answers as fast as a small
 * one (folders past the budget show no counts). Hidden folders (".git") are left out.
 */
export async function listFolders(path: string | undefined, budget = FOLDER_LIST_ENTRY_BUDGET, maxFolders = FOLDER_LIST_MAX): Promise<FolderListing> {
  const asked = path ?? homedir();
  if (!isAbsolute(asked)) throw new ApiError('invalid_input', `Give an absolute path, not "${asked}".`, { field: 'path' });
  const folder = resolve(asked);
  await requireFolder(folder, 'path', 'not_found');

  let left = budget;
  const here = await readLevel(folder, () => left-- > 0);
  if (here === null) throw new ApiError('io_error', `Cannot read the folder ${folder}: permission denied or it went away.`, { field: 'path' });
  const names = here.folders.sort((a, b) => a.localeCompare(b));
  const folders: FolderEntry[] = [];
  for (const name of names.slice(0, maxFolders)) {
    const full = join(folder, name);
    if (left <= 0) {
      folders.push({ name, path: full, images: null, folders: null, partial: true });
      continue;
    }
    const level = await readLevel(full, () => left-- > 0);
    folders.push(
      level === null
        ? { name, path: full, images: null, folders: null, partial: false }
        : { name, path: full, images: level.images, folders: level.folders.length, partial: level.partial },
    );
  }
  const parent = dirname(folder);
  return { path: folder, parent: parent === folder ? null : parent, images: here.images, folders, truncated: names.length > maxFolders || here.partial };
}

/** Image files and visible subfolders (links to folders included) directly in `dir`; null when it cannot be read. */
async function readLevel(dir: string, take: () => boolean): Promise<{ images: number; folders: string[]; partial: boolean } | null> {
  let handle;
  try {
    handle = await opendir(dir, { bufferSize: 256 });
  } catch {
    return null;
  }
  let images = 0;
  const folders: string[] = [];
  let partial = false;
  try {
    for await (const entry of handle) {
      if (!take()) {
        partial = true;
        break;
      }
      if (entry.name.startsWith('.')) continue;
      if (entry.isDirectory()) folders.push(entry.name);
      else if (entry.isFile() && IMAGE_EXTENSIONS.has(extname(entry.name).toLowerCase())) images++;
      else if (entry.isSymbolicLink()) {
        // A link is shown as what it points to; it is never opened.
        const target = await stat(join(dir, entry.name)).catch(() => null);
        if (target?.isDirectory()) folders.push(entry.name);
        else if (target?.isFile() && IMAGE_EXTENSIONS.has(extname(entry.name).toLowerCase())) images++;
      }
    }
  } catch {
    partial = true;
  } finally {
    // Breaking out of the iteration closes it; an exhausted one is closed already.
    await handle.close().catch(() => {});
  }
  return { images, folders, partial };
}
