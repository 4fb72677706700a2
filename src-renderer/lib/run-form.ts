import {
  LIMITS,
  decoderKinds,
  defaultRunConfig,
  modelKinds,
  runConfigSchema,
  type DecoderKind,
  type ModelKind,
  type RunConfig,
} from '@shared/config';

/**
 * The new-run form as the inputs hold it: number inputs give `null` when empty, so
 * nothing here is trusted until `validateRunForm` says so.
 */
export interface RunFormValues {
  name: string;
  datasetId: number | null;
  model: ModelKind;
  latent: number | null;
  hidden: number | null;
  decoder: DecoderKind;
  gaussianSigma: number | null;
  beta: number | null;
  epochs: number | null;
  batchSize: number | null;
  learningRate: number | null;
  seed: number | null;
}

export type RunFormField = keyof RunFormValues;
export type RunFormErrors = Partial<Record<RunFormField, string>>;

export function defaultRunForm(datasetId: number | null): RunFormValues {
  const d = defaultRunConfig();
  return {
    name: '',
    datasetId,
    model: d.model,
    latent: d.latent,
    hidden: d.hidden,
    decoder: d.decoder,
    gaussianSigma: d.gaussianSigma,
    beta: d.beta,
    epochs: d.epochs,
    batchSize: d.batchSize,
    learningRate: d.learningRate,
    seed: d.seed,
  };
}

/** Hints shown under the fields; the same LIMITS the core enforces. */
export const runFormHints: Partial<Record<RunFormField, string>> = {
  latent: `${LIMITS.latent.min}–${LIMITS.latent.max}`,
  epochs: `${LIMITS.epochs.min}–${LIMITS.epochs.max.toLocaleString('en-US')}`,
  batchSize: `${LIMITS.batchSize.min}–${LIMITS.batchSize.max}`,
  learningRate: `${LIMITS.learningRate.min}–${LIMITS.learningRate.max}`,
};

function integerIn(value: number | null, label: string, range: { min: number; max: number }): string | null {
  if (value === null || !Number.isFinite(value)) return `${label} is required.`;
  if (!Number.isInteger(value)) return `${label} must be a whole number.`;
  if (value < range.min || value > range.max) {
    return `${label} must be between ${range.min} and ${range.max.toLocaleString('en-US')}.`;
  }
  return null;
}

function numberIn(value: number | null, label: string, range: { min: number; max: number }): string | null {
  if (value === null || !Number.isFinite(value)) return `${label} is required.`;
  if (value < range.min || value > range.max) return `${label} must be between ${range.min} and ${range.max}.`;
  return null;
}

/** Words for zod's issues on fields that have no LIMITS entry (hidden, beta, σ, seed). */
function describeIssue(issue: { code: string; message: string; minimum?: unknown; maximum?: unknown; inclusive?: boolean }): string {
  if (issue.code === 'too_small') return `Must be ${issue.inclusive === false ? 'greater than' : 'at least'} ${String(issue.minimum)}.`;
  if (issue.code === 'too_big') return `Must be at most ${String(issue.maximum)}.`;
  if (issue.code === 'invalid_type') return 'Enter a number.';
  return issue.message;
}

export interface ValidatedRunForm {
  errors: RunFormErrors;
  /** Present only when there are no errors. */
  config: RunConfig | null;
}

export function validateRunForm(values: RunFormValues): ValidatedRunForm {
  const errors: RunFormErrors = {};
  const put = (field: RunFormField, message: string | null): void => {
    if (message && !errors[field]) errors[field] = message;
  };

  if (values.datasetId === null) put('datasetId', 'Choose a dataset to train on.');
  if (values.name.trim().length > LIMITS.nameLength) put('name', `Keep the name under ${LIMITS.nameLength} characters.`);
  put('latent', integerIn(values.latent, 'Latent size', LIMITS.latent));
  put('epochs', integerIn(values.epochs, 'Epochs', LIMITS.epochs));
  put('batchSize', integerIn(values.batchSize, 'Batch size', LIMITS.batchSize));
  put('learningRate', numberIn(values.learningRate, 'Learning rate', LIMITS.learningRate));

  const candidate = {
    model: values.model,
    latent: values.latent,
    hidden: values.hidden,
    decoder: values.decoder,
    // σ only matters (and is only on screen) for the Gaussian decoder.
    gaussianSigma: values.decoder === 'gaussian' ? values.gaussianSigma : undefined,
    beta: values.beta,
    epochs: values.epochs,
    batchSize: values.batchSize,
    learningRate: values.learningRate,
    seed: values.seed,
  };
  const parsed = runConfigSchema.safeParse(candidate);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const field = issue.path[0];
      if (typeof field === 'string' && field in values) put(field as RunFormField, describeIssue(issue as Parameters<typeof describeIssue>[0]));
    }
  }

  const ok = Object.keys(errors).length === 0 && parsed.success;
  return { errors, config: ok ? parsed.data : null };
}

/** Gaussian decoder with fixed σ: the reconstruction term is MSE · 1/(2σ²). */
export function mseScale(sigma: number | null): number | null {
  return sigma !== null && Number.isFinite(sigma) && sigma > 0 ? 1 / (2 * sigma * sigma) : null;
}

const LAST_FORM_KEY = 'vae-studio.lastRunForm';

/** The settings of the last run started in a project, so the next one starts from them. */
export function rememberRunForm(projectId: number, values: RunFormValues): void {
  try {
    localStorage.setItem(`${LAST_FORM_KEY}.${projectId}`, JSON.stringify({ ...values, name: '' }));
  } catch {
    // Storage may be full or disabled; the form then starts from the defaults.
  }
}

export function recallRunForm(projectId: number | null): RunFormValues {
  const defaults = defaultRunForm(null);
  if (projectId === null) return defaults;
  let stored: unknown;
  try {
    stored = JSON.parse(localStorage.getItem(`${LAST_FORM_KEY}.${projectId}`) ?? 'null');
  } catch {
    return defaults;
  }
  if (typeof stored !== 'object' || stored === null) return defaults;
  // Keep only values of the right type: stored data is not trusted, only pre-filled.
  const merged: Record<string, unknown> = { ...defaults };
  for (const [key, fallback] of Object.entries(defaults)) {
    const value = (stored as Record<string, unknown>)[key];
    if (key === 'datasetId') merged[key] = typeof value === 'number' ? value : null;
    else if (typeof value === typeof fallback && value !== null) merged[key] = value;
  }
  if (!(modelKinds as readonly unknown[]).includes(merged['model'])) merged['model'] = defaults.model;
  if (!(decoderKinds as readonly unknown[]).includes(merged['decoder'])) merged['decoder'] = defaults.decoder;
  return merged as unknown as RunFormValues;
}

/** A run's settings as form values: "Clone" starts a new run from them. */
export function formFromRun(run: { datasetId: number; config: RunConfig }): RunFormValues {
  const c = run.config;
  return {
    name: '',
    datasetId: run.datasetId,
    model: c.model,
    latent: c.latent,
    hidden: c.hidden,
    decoder: c.decoder,
    gaussianSigma: c.gaussianSigma,
    beta: c.beta,
    epochs: c.epochs,
    batchSize: c.batchSize,
    learningRate: c.learningRate,
    seed: c.seed,
  };
}
