import { z } from 'zod';

/**
 * Web mode's folder browser: a browser page is never told where a folder lives on disk,
 * so the import form asks the server for the folders under a path and how many images
 * each holds — names of folders and counts only, never a file's name or contents.
 * Electron has the native dialog instead. Token-protected like every web route.
 */

/** Folders listed under one path; the rest are counted. */
export const FOLDER_LIST_MAX = 500;
/** Directory entries read per listing, across the folder and all its subfolders. */
export const FOLDER_LIST_ENTRY_BUDGET = 50_000;

export const folderListRequestSchema = z
  .object({
    /** An absolute path; absent: the home folder of the user running VAE Studio. */
    path: z.string().min(1).max(4096).optional(),
  })
  .strict();
export type FolderListRequest = z.input<typeof folderListRequestSchema>;

export interface FolderEntry {
  name: string;
  path: string;
  /** Image files directly inside (null: not counted, the listing's entry budget ran out). */
  images: number | null;
  /** Subfolders directly inside (null when not counted). */
  folders: number | null;
  /** Counting stopped early: there are at least `images` images and `folders` folders. */
  partial: boolean;
}

export interface FolderListing {
  /** The folder listed, absolute and normalized. */
  path: string;
  /** Its parent, or null at the root. */
  parent: string | null;
  /** Image files directly in it. */
  images: number;
  /** Its subfolders by name (hidden ones left out), FOLDER_LIST_MAX at most. */
  folders: FolderEntry[];
  /** More subfolders than listed. */
  truncated: boolean;
}
