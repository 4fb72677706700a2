/**
 * Dataset health (issue #22): what a dataset's own pixels say about it before any model
 * is trained — near-duplicate pairs (and those that straddle splits: leakage), nearly
 * blank images, class balance, and the originals' sizes and aspect ratios. Computed once
 * per dataset version (src-main/core/datasets/health.ts), stored as a blob, served in pages.
 */

/**
 * The check's version, stored in each report. 2: RGB pairs are confirmed on colour
 * thumbnails; a report of an earlier version reads as not computed, so the next look
 * computes it again instead of showing pairs the check no longer makes.
 */
export const HEALTH_VERSION = 2;

/** Pairs kept in the stored report (leaking pairs first, then the closest); the total is counted beyond. */
export const MAX_HEALTH_PAIRS = 20_000;
/** Nearly blank images kept in the stored report (the most uniform first); the total is counted beyond. */
export const MAX_HEALTH_BLANKS = 20_000;
/** Largest page a findings request answers. */
export const MAX_HEALTH_PAGE = 200;

/** Two images are near-duplicates when their 64-bit difference hashes differ in at most this many bits … */
export const NEAR_HASH_BITS = 3;
/** … and their 9×8 thumbnails differ by at most this much on average (0–255): grey, or each channel of an RGB one. */
export const NEAR_MEAN_DIFF = 6;
/** An image whose grey values' standard deviation is below this (0–255) is nearly blank. */
export const BLANK_STD = 3;

export const SIZE_BINS = ['< 32', '32–63', '64–127', '128–255', '256–511', '512–1023', '1024–2047', '≥ 2048'] as const;
/** Upper bounds (exclusive) of the width/height ratio bins; the last bin is open. */
export const ASPECT_EDGES = [0.5, 0.75, 0.9, 1.12, 1.34, 2] as const;
export const ASPECT_BINS = ['< 1:2', '1:2–3:4', '3:4–9:10', 'square', '9:8–4:3', '4:3–2:1', '> 2:1'] as const;

/** One near-duplicate pair, by index into the packed dataset (a < b). */
export interface HealthPair {
  a: number;
  b: number;
  /** Differing bits of the two difference hashes (0–NEAR_HASH_BITS). */
  bits: number;
  /** Mean absolute difference of the grey thumbnails (0–255). */
  meanDiff: number;
  /** The two images are in different splits. */
  leak: boolean;
}

export interface HealthBlank {
  index: number;
  /** Standard deviation of the grey values (0–255). */
  std: number;
  /** Mean grey value (0–255). */
  mean: number;
}

/** What is stored per dataset (one blob). */
export interface HealthReport {
  version: number;
  computedAt: string;
  count: number;
  seconds: number;
  /** Exact duplicates dropped at import (identical files). */
  exactDuplicates: number;
  nearDuplicates: { total: number; leaking: number; pairs: HealthPair[]; truncated: boolean };
  blanks: { total: number; items: HealthBlank[] };
  /** Per label (dataset label order), images per split. */
  classBalance: { label: string; train: number; validation: number; test: number }[];
  unlabelled: number;
  /** Originals' longer side, in SIZE_BINS; `unknown` counts images whose original size was not kept. */
  sizes: { bins: number[]; unknown: number };
  aspects: { bins: number[]; unknown: number };
  /** Buckets too large to compare exhaustively were compared with their nearest hashes only. */
  approximate: boolean;
}

export type HealthKind = 'pairs' | 'leakage' | 'blank';

/** An image as a findings page shows it. */
export interface HealthImage {
  index: number;
  path: string | null;
  split: 'train' | 'validation' | 'test';
  label: string | null;
  /** PNG data URL, only when asked for thumbnails. */
  thumb?: string;
}

export type HealthItem =
  | { kind: 'pair'; bits: number; meanDiff: number; leak: boolean; images: [HealthImage, HealthImage] }
  | { kind: 'blank'; std: number; mean: number; images: [HealthImage] };

export type HealthSummary = Omit<HealthReport, 'nearDuplicates' | 'blanks'> & {
  nearDuplicates: { total: number; leaking: number; truncated: boolean };
  blanks: { total: number };
};

export type DatasetHealthAnswer =
  | { datasetId: number; computed: false }
  | { datasetId: number; computed: true; summary: HealthSummary; kind: HealthKind; offset: number; total: number; items: HealthItem[] };

export function sizeBin(longer: number): number {
  let bin = 0;
  for (let edge = 32; bin < SIZE_BINS.length - 1 && longer >= edge; edge *= 2) bin++;
  return bin;
}

export function aspectBin(width: number, height: number): number {
  const ratio = width / height;
  const bin = ASPECT_EDGES.findIndex((edge) => ratio < edge);
  return bin < 0 ? ASPECT_EDGES.length : bin;
}
