import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import type { DatasetLayout } from '@shared/config';
import { ApiError } from '@shared/errors';
import type { LayoutInfo, SplitName } from '@shared/types';
import type { ScannedFile } from './scan-folder';

/** Top-level folder names (any case) that hold a split rather than a class. */
const SPLIT_FOLDERS: Readonly<Record<string, SplitName>> = {
  train: 'train',
  test: 'test',
  val: 'validation',
  valid: 'validation',
  validation: 'validation',
};

export const splitOfFolder = (name: string): SplitName | null => SPLIT_FOLDERS[name.toLowerCase()] ?? null;

/** File → label tables read from the top of a dataset folder, in this order. */
export const SIDECAR_NAMES = ['labels.csv', 'labels.json'] as const;
/** A labels file is text naming files: this is far beyond any real one. */
export const MAX_SIDECAR_BYTES = 32 * 1024 * 1024;
export const MAX_LABEL_LENGTH = 200;
/** Distinct labels a sidecar may name (each becomes a class everywhere, one-hot included). */
export const MAX_SIDECAR_LABELS = 10_000;
/** Entries read between two turns of the event loop. */
const YIELD_EVERY = 20_000;

export interface Sidecar {
  /** The file's name as found (e.g. `labels.csv`). */
  name: string;
  /** Normalised file key (a relative path, a file name or a stem) → label. */
  labels: Map<string, string>;
}

/** Where one scanned file goes: its label ('' = none) and its split (null: drawn at random). */
export interface Placement {
  label: string;
  split: SplitName | null;
}

export interface ResolvedLayout {
  info: LayoutInfo;
  /** Per scanned file, same order: where it goes, or null when it lies outside the split folders. */
  placements: (Placement | null)[];
  /** Shares drawn for files whose split is null (a split with a folder of its own is never drawn). */
  draw: { validationFraction: number; testFraction: number };
}

function normaliseKey(key: string): string {
  let k = key.trim();
  if (k.includes('\\')) k = k.replace(/\\/g, '/');
  if (k.startsWith('.') || k.startsWith('/')) k = k.replace(/^(\.\/|\/)+/, '');
  return k;
}

function sidecarError(name: string, message: string): ApiError {
  return new ApiError('invalid_input', `${name}: ${message} Fix the file, or turn labels off to import without it.`, { field: 'labels', file: name });
}

/** Reads at most `max` bytes of a regular file (non-blocking open: a FIFO in its place cannot hang the read). */
function readBounded(path: string, name: string, max: number): Buffer {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) throw sidecarError(name, 'is not a regular file.');
    if (info.size > max) throw sidecarError(name, `is larger than ${max / 1024 / 1024} MiB.`);
    const bytes = Buffer.alloc(info.size);
    let offset = 0;
    while (offset < bytes.length) {
      const n = readSync(fd, bytes, offset, bytes.length - offset, offset);
      if (n === 0) break;
      offset += n;
    }
    return bytes.subarray(0, offset);
  } finally {
    closeSync(fd);
  }
}

/**
 * RFC 4180 rows (quotes, doubled quotes, CRLF or LF), with the line each row starts on,
 * one at a time. The separator is the first of comma, tab or semicolon that the first
 * line holds. Lines without a quote (nearly all) are split directly.
 */
export function* parseCsv(text: string): Generator<{ line: number; cells: string[] }> {
  const firstEnd = text.search(/\r|\n/);
  const firstLine = firstEnd < 0 ? text : text.slice(0, firstEnd);
  const separator = [',', '\t', ';'].find((s) => firstLine.includes(s)) ?? ',';
  let at = 0;
  let line = 1;
  while (at < text.length) {
    let end = text.indexOf('\n', at);
    if (end < 0) end = text.length;
    const raw = text.slice(at, end > at && text[end - 1] === '\r' ? end - 1 : end);
    if (!raw.includes('"')) {
      if (raw.trim() !== '') yield { line, cells: raw.split(separator) };
      at = end + 1;
      line++;
      continue;
    }
    // Quoted cells may hold separators and line breaks: walk this row character by character.
    const rowLine = line;
    const cells: string[] = [];
    let cell = '';
    let quoted = false;
    let i = at;
    for (; i < text.length; i++) {
      const c = text[i]!;
      if (quoted) {
        if (c === '"' && text[i + 1] === '"') {
          cell += '"';
          i++;
        } else if (c === '"') quoted = false;
        else {
          if (c === '\n') line++;
          cell += c;
        }
      } else if (c === '"' && cell === '') quoted = true;
      else if (c === separator) {
        cells.push(cell);
        cell = '';
      } else if (c === '\n') break;
      else if (c !== '\r' || text[i + 1] !== '\n') cell += c;
    }
    cells.push(cell);
    if (cells.some((x) => x.trim() !== '')) yield { line: rowLine, cells };
    at = i + 1;
    line++;
  }
}

const HEADER_LABELS = new Set(['label', 'labels', 'class', 'category', 'target', 'y']);

function* sidecarEntries(name: string, text: string): Generator<{ where: string; file: string; label: unknown }> {
  if (name.toLowerCase().endsWith('.json')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw sidecarError(name, `is not valid JSON (${error instanceof Error ? error.message : String(error)}).`);
    }
    if (Array.isArray(parsed)) {
      for (const [i, item] of parsed.entries()) {
        const entry = (item ?? {}) as Record<string, unknown>;
        const file = entry['file'] ?? entry['path'] ?? entry['filename'];
        if (typeof file !== 'string') throw sidecarError(name, `entry ${i} has no "file" (write [{"file": "a.png", "label": "cat"}, …]).`);
        yield { where: `entry ${i}`, file, label: entry['label'] };
      }
      return;
    }
    if (parsed !== null && typeof parsed === 'object') {
      for (const [file, label] of Object.entries(parsed)) yield { where: `"${file.slice(0, 80)}"`, file, label };
      return;
    }
    throw sidecarError(name, 'must hold an object {"file": "label", …} or an array [{"file", "label"}, …].');
  }
  let first = true;
  for (const row of parseCsv(text)) {
    const header = first && HEADER_LABELS.has((row.cells[1] ?? '').trim().toLowerCase());
    first = false;
    if (header) continue;
    if (row.cells.length < 2) throw sidecarError(name, `line ${row.line} has no label (write one "file,label" per line).`);
    yield { where: `line ${row.line}`, file: row.cells[0]!, label: row.cells[1] };
  }
}

/** The folder's labels.csv or labels.json, parsed and bounded; null when it has none. */
export async function readSidecar(folder: string): Promise<Sidecar | null> {
  const names = new Map((await readdir(folder)).map((n) => [n.toLowerCase(), n]));
  const name = SIDECAR_NAMES.map((n) => names.get(n)).find((n) => n !== undefined);
  if (name === undefined) return null;
  const text = readBounded(join(folder, name), name, MAX_SIDECAR_BYTES).toString('utf8');
  const labels = new Map<string, string>();
  const distinct = new Set<string>();
  let read = 0;
  for (const { where, file, label } of sidecarEntries(name, text)) {
    // datasets.inspect reads it in the process that serves the UI: let it answer meanwhile.
    if (++read % YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
    if (typeof label !== 'string' && typeof label !== 'number') throw sidecarError(name, `${where} has no label (a text or a number).`);
    const value = String(label).trim();
    if (value === '') continue;
    if (value.length > MAX_LABEL_LENGTH) throw sidecarError(name, `${where} has a label longer than ${MAX_LABEL_LENGTH} characters.`);
    const key = normaliseKey(file);
    if (key === '') throw sidecarError(name, `${where} names no file.`);
    const before = labels.get(key);
    if (before !== undefined && before !== value) throw sidecarError(name, `${where} labels "${key.slice(0, 200)}" "${value}", an earlier line "${before}".`);
    labels.set(key, value);
    distinct.add(value);
    if (distinct.size > MAX_SIDECAR_LABELS) throw sidecarError(name, `names more than ${MAX_SIDECAR_LABELS.toLocaleString('en')} different labels.`);
  }
  return { name, labels };
}

/** A sidecar's label for a file: by its path, its path inside a split folder, its name, then its name without extension. */
function sidecarLabel(sidecar: Sidecar, relPath: string, inSplitFolder: boolean): string | undefined {
  const { labels } = sidecar;
  const name = basename(relPath);
  return (
    labels.get(relPath) ??
    (inSplitFolder ? labels.get(relPath.slice(relPath.indexOf('/') + 1)) : undefined) ??
    labels.get(name) ??
    labels.get(name.slice(0, name.length - extname(name).length))
  );
}

/**
 * How a scanned folder becomes a dataset. `auto` reads it as split folders when every
 * top-level folder holding images is named train, test, val, valid or validation (any
 * case), else as classes (one folder per label), and flags split folders mixed with
 * others. In a split layout the level below gives the labels, images outside the split
 * folders are left out, and a split with no folder of its own is drawn from train/ at
 * the import's shares. A sidecar (labels.csv / labels.json) gives the labels wherever it
 * is present, whatever the layout.
 */
export function resolveLayout(
  folder: string,
  files: readonly ScannedFile[],
  relPaths: readonly string[],
  settings: { layout: DatasetLayout; labels: boolean; validationFraction: number; testFraction: number },
  sidecar: Sidecar | null,
): ResolvedLayout {
  const tops = [...new Set(files.map((f) => f.top).filter((t) => t !== ''))].sort();
  const splitTops = tops.filter((t) => splitOfFolder(t) !== null);
  let kind: LayoutInfo['kind'];
  let mixed: string[] | undefined;
  if (settings.layout !== 'auto') kind = settings.layout;
  else if (splitTops.length > 0 && splitTops.length === tops.length) kind = 'split';
  else {
    kind = 'classes';
    if (splitTops.length > 0) mixed = tops.slice(0, 50);
  }
  if (kind === 'split' && splitTops.length === 0) {
    throw new ApiError(
      'invalid_input',
      `${folder} has no train, test or val folder at its top level, so it cannot be read as split folders. Choose another layout.`,
      { field: 'layout' },
    );
  }
  const splitFolders: Record<SplitName, string[]> = { train: [], validation: [], test: [] };
  if (kind === 'split') for (const t of splitTops) splitFolders[splitOfFolder(t)!].push(t);
  const drawn: SplitName[] =
    kind === 'split' ? (['validation', 'test'] as const).filter((s) => splitFolders[s].length === 0) : ['train', 'validation', 'test'];
  const draw = {
    validationFraction: drawn.includes('validation') ? settings.validationFraction : 0,
    testFraction: drawn.includes('test') ? settings.testFraction : 0,
  };

  let unlabelled = 0;
  let outside = 0;
  const placements = files.map((file, i): Placement | null => {
    const split = kind === 'split' ? splitOfFolder(file.top) : null;
    if (kind === 'split' && split === null) {
      outside++;
      return null;
    }
    let label = '';
    if (settings.labels && sidecar) {
      label = sidecarLabel(sidecar, relPaths[i]!, kind === 'split') ?? '';
      if (label === '') unlabelled++;
    } else if (settings.labels && kind === 'classes') label = file.top;
    else if (settings.labels && kind === 'split') label = file.sub;
    // Drawn from train/ where the split has no folder; never out of a test or val folder.
    return { label, split: split === 'train' && drawn.length > 0 ? null : split };
  });
  const anyLabel = placements.some((p) => p !== null && p.label !== '');
  const info: LayoutInfo = {
    kind,
    detected: settings.layout === 'auto',
    splitFolders,
    drawn,
    labelSource: !anyLabel ? 'none' : settings.labels && sidecar ? 'sidecar' : 'folders',
    ...(settings.labels && sidecar ? { sidecar: sidecar.name } : {}),
    unlabelled: settings.labels && sidecar ? unlabelled : 0,
    outside,
    ...(mixed ? { mixed } : {}),
  };
  return { info, placements, draw };
}
