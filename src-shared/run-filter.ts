import { z } from 'zod';
import { encoderInputOf, runConfigObject } from './config';
import { runStatuses } from './types';

/**
 * The runs history's filter language, one parser for the API, the CLI and the Runs view:
 *
 *   beta<1 latent>=16 status:finished tag:faces family:vae name~digits loss<90 "free text"
 *
 * Terms are separated by spaces and all must hold. A term is `key op value` with op one
 * of `: = != < <= > >= ~ !~` (`:` and `=` both mean equals; `~` contains, case-blind); a
 * value with spaces or operators goes in double quotes (`\"` and `\\` inside). A word
 * without an operator matches a run's name, dataset, status or tags, as the old search box did.
 *
 * Keys come from FILTER_KEYS: every run setting of the config schema by its own name,
 * the run's columns (status, name, dataset, tag, id, epochs…) and its final metrics
 * (loss, val_loss… bare, any other as `metric.NAME`). Adding a key is one line there —
 * e.g. `sweep: { type: 'number', label: 'Sweep id', source: { column: 'sweep_id' } }` — and
 * the core's SQL compiler (a run row's column of that name), the sort and group-by
 * choices and the help all follow.
 */

export type FilterValueType = 'number' | 'text' | 'enum';

/** Where a key's value lives on a run row: a config setting, a column, its tags or a summary metric. */
export type FilterSource =
  | { config: string; fallback: number | string | null }
  | { column: string }
  | { tags: true }
  | { metric: string };

export interface FilterKey {
  type: FilterValueType;
  /** For enum keys: the values it takes. */
  choices?: readonly string[];
  label: string;
  source: FilterSource;
}

/** Final metrics that may be named bare; any other summary figure is `metric.NAME`. */
export const FILTER_METRICS = ['loss', 'val_loss', 'val_elbo', 'val_recon', 'val_kl', 'test_nll', 'test_bpd', 'seconds'] as const;

const METRIC_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

type AnySchema = { def: { type: string; innerType?: AnySchema; defaultValue?: unknown }; options?: readonly unknown[] };

/** A config setting's filter key, read off its schema: numbers compare, enums match a choice. */
function settingKey(name: string, schema: AnySchema): FilterKey {
  let inner = schema;
  let fallback: number | string | null = null;
  while (inner.def.type === 'default' || inner.def.type === 'optional') {
    if (inner.def.type === 'default') {
      const value = inner.def.defaultValue;
      fallback = typeof value === 'number' || typeof value === 'string' ? value : null;
    }
    inner = inner.def.innerType!;
  }
  // An optional setting whose absence has a meaning of its own: a run stored without the encoder input read [0, 1].
  if (name === 'encoderInput') fallback = encoderInputOf({});
  const source = { config: name, fallback };
  if (inner.def.type === 'enum' && inner.options) {
    return { type: 'enum', choices: inner.options.map(String), label: name, source };
  }
  return { type: inner.def.type === 'number' ? 'number' : 'text', label: name, source };
}

const settingKeys = Object.fromEntries(
  Object.entries(runConfigObject.shape as unknown as Record<string, AnySchema>).map(([name, schema]) => [name, settingKey(name, schema)]),
);

/** Every key the language knows, by the name a person types. */
export const FILTER_KEYS: Readonly<Record<string, FilterKey>> = {
  ...settingKeys,
  id: { type: 'number', label: 'Run id', source: { column: 'id' } },
  name: { type: 'text', label: 'Run name', source: { column: 'name' } },
  dataset: { type: 'text', label: 'Dataset name', source: { column: 'dataset' } },
  datasetId: { type: 'number', label: 'Dataset id', source: { column: 'datasetId' } },
  status: { type: 'enum', choices: runStatuses, label: 'Status', source: { column: 'status' } },
  tag: { type: 'text', label: 'A tag of the run', source: { tags: true } },
  notes: { type: 'text', label: 'Notes', source: { column: 'notes' } },
  created: { type: 'text', label: 'Created (ISO time, compares as text)', source: { column: 'created' } },
  epochsDone: { type: 'number', label: 'Epochs done', source: { column: 'epochsDone' } },
  sweep: { type: 'number', label: 'Sweep id (its trials)', source: { column: 'sweep_id' } },
  importedFrom: { type: 'text', label: 'Imported model: the archive or folder it came from (importedFrom>"" lists them all)', source: { column: 'importedFrom' } },
  ...Object.fromEntries(FILTER_METRICS.map((metric) => [metric, { type: 'number', label: `Final ${metric}`, source: { metric } }])),
};

/** A key by name, or `metric.NAME` for any summary figure; undefined when unknown. */
export function filterKey(name: string): FilterKey | undefined {
  if (Object.prototype.hasOwnProperty.call(FILTER_KEYS, name)) return FILTER_KEYS[name];
  if (name.startsWith('metric.')) {
    const metric = name.slice('metric.'.length);
    if (METRIC_NAME.test(metric)) return { type: 'number', label: `Final ${metric}`, source: { metric } };
  }
  return undefined;
}

export const filterOps = [':', '=', '!=', '<', '<=', '>', '>=', '~', '!~'] as const;
export type FilterOp = (typeof filterOps)[number];

export type FilterTerm =
  | { kind: 'compare'; key: string; op: FilterOp; value: string | number; token: string }
  /** A bare word: the run's name, dataset, status or a tag contains it. */
  | { kind: 'text'; value: string; token: string };

export interface RunFilter {
  terms: FilterTerm[];
}

/** A filter that does not parse: `token` is the term at fault, `start`/`end` where it is in the text. */
export class FilterSyntaxError extends Error {
  constructor(
    message: string,
    readonly token: string,
    readonly start: number,
    readonly end: number,
  ) {
    super(message);
    this.name = 'FilterSyntaxError';
  }
}

export const MAX_FILTER_LENGTH = 2000;
const MAX_TERMS = 40;
const MAX_VALUE_LENGTH = 200;

interface RawToken {
  text: string;
  start: number;
  end: number;
  /** The token with quotes resolved: key part and value part. */
  parts: { key: string; op: FilterOp | null; value: string; quoted: boolean };
}

const OP_AT = /^(!=|<=|>=|!~|[:=<>~])/;

/** Splits the text into terms, resolving quotes; a term is key, operator, value (or one bare value). */
function tokenize(text: string): RawToken[] {
  const tokens: RawToken[] = [];
  let i = 0;
  while (i < text.length) {
    if (/\s/.test(text[i]!)) {
      i += 1;
      continue;
    }
    const start = i;
    let key = '';
    let op: FilterOp | null = null;
    let value = '';
    let quoted = false;
    // Key (or a bare word): up to an operator, a space or a quote.
    while (i < text.length && !/\s/.test(text[i]!) && text[i] !== '"' && !OP_AT.test(text.slice(i))) key += text[i++];
    const opMatch = OP_AT.exec(text.slice(i));
    if (opMatch && key.length > 0) {
      op = opMatch[1] as FilterOp;
      i += op.length;
    }
    if (text[i] === '"') {
      quoted = true;
      i += 1;
      let closed = false;
      while (i < text.length) {
        const c = text[i]!;
        if (c === '\\' && i + 1 < text.length) {
          value += text[i + 1];
          i += 2;
        } else if (c === '"') {
          i += 1;
          closed = true;
          break;
        } else {
          value += c;
          i += 1;
        }
      }
      if (!closed) {
        const token = text.slice(start);
        throw new FilterSyntaxError(`"${token}": the quote is never closed; end the value with "`, token, start, text.length);
      }
    } else {
      while (i < text.length && !/\s/.test(text[i]!)) value += text[i++];
    }
    if (op === null) {
      // No operator: the whole term is one bare word (or quoted text).
      value = key + value;
      key = '';
    }
    tokens.push({ text: text.slice(start, i), start, end: i, parts: { key, op, value, quoted } });
  }
  return tokens;
}

/** Closest known key by edit distance, for "did you mean". */
function nearestKey(name: string): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  const lower = name.toLowerCase();
  for (const key of Object.keys(FILTER_KEYS)) {
    const d = editDistance(lower, key.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = key;
    }
  }
  return best !== null && bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : null;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Parses a filter; throws FilterSyntaxError naming the term at fault and what to write instead. */
export function parseRunFilter(text: string): RunFilter {
  if (text.length > MAX_FILTER_LENGTH) {
    throw new FilterSyntaxError(`The filter is ${text.length} characters; keep it under ${MAX_FILTER_LENGTH}.`, text.slice(0, 20), 0, text.length);
  }
  const tokens = tokenize(text);
  if (tokens.length > MAX_TERMS) {
    const extra = tokens[MAX_TERMS]!;
    throw new FilterSyntaxError(`"${extra.text}": a filter takes at most ${MAX_TERMS} terms.`, extra.text, extra.start, extra.end);
  }
  const terms = tokens.map((token): FilterTerm => {
    const fail = (why: string): never => {
      throw new FilterSyntaxError(`"${token.text}": ${why}`, token.text, token.start, token.end);
    };
    const { key, op, value, quoted } = token.parts;
    if (value.length > MAX_VALUE_LENGTH) fail(`the value is longer than ${MAX_VALUE_LENGTH} characters.`);
    if (op === null) {
      if (!quoted && OP_AT.test(value)) fail(`no key before "${OP_AT.exec(value)![1]}"; write it as key${OP_AT.exec(value)![1]}value, e.g. beta<1.`);
      if (value.length === 0) fail('an empty value; put text between the quotes.');
      return { kind: 'text', value, token: token.text };
    }
    const spec = filterKey(key);
    if (!spec) {
      const near = nearestKey(key);
      fail(`unknown key "${key}"${near ? ` — did you mean ${near}?` : ''}. Keys are run settings (beta, latent, family…), status, name, dataset, tag, id, metrics (loss, val_loss… or metric.NAME).`);
    }
    if (value.length === 0 && !quoted) fail(`no value after "${key}${op}".`);
    if (spec!.type === 'number') {
      if (op === '~' || op === '!~') fail(`"${key}" is a number; compare it with = != < <= > >=.`);
      if (!NUMBER.test(value)) fail(`"${key}" takes a number, not "${value}".`);
      return { kind: 'compare', key, op, value: Number(value), token: token.text };
    }
    if (op === '<' || op === '<=' || op === '>' || op === '>=') {
      if (spec!.type === 'enum') fail(`"${key}" is one of ${spec!.choices!.join(', ')}; use : or != (ordering applies to numbers).`);
    }
    if (spec!.type === 'enum' && (op === ':' || op === '=' || op === '!=') && !spec!.choices!.includes(value)) {
      fail(`"${key}" is one of ${spec!.choices!.join(', ')}, not "${value}".`);
    }
    return { kind: 'compare', key, op, value, token: token.text };
  });
  return { terms };
}

/** What the API takes as a filter: the text a person typed (parsed by parseRunFilter on the way in). */
export const runFilterText = z.string().max(MAX_FILTER_LENGTH).default('');

/** A key fit to sort or group by: any known key but free text and tags. */
export function isOrderKey(name: string): boolean {
  const spec = filterKey(name);
  return spec !== undefined && !('tags' in spec.source);
}

/** One line per key for the filter box's help and `--help`. */
export function filterHelp(): { key: string; type: FilterValueType; label: string; choices?: readonly string[] }[] {
  return Object.entries(FILTER_KEYS).map(([key, spec]) => ({ key, type: spec.type, label: spec.label, ...(spec.choices ? { choices: spec.choices } : {}) }));
}
