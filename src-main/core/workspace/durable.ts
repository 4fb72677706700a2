import { closeSync, fsyncSync, openSync, rmSync, writeSync } from 'node:fs';

/** Writes that survive a power cut: the one place the workspace, the blob store and exports fsync. */

/** fsync a folder, so a file created or renamed in it survives a power loss (not possible on Windows: skipped). */
export function fsyncFolder(path: string): void {
  if (process.platform === 'win32') return;
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes `bytes` to a new file (it must not exist) and fsyncs it; a failed write leaves no file. */
export function writeFileDurably(path: string, bytes: Uint8Array): void {
  const fd = openSync(path, 'wx');
  try {
    let offset = 0;
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(path, { force: true });
    throw error;
  }
  closeSync(fd);
}
