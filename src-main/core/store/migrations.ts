/**
 * Numbered schema migrations. Each runs in its own transaction and bumps
 * `user_version`; never edit a shipped migration — add the next one.
 */
export interface Migration {
  version: number;
  description: string;
  sql: string;
  /**
   * Rebuilds a table other tables reference (SQLite cannot alter a CHECK constraint).
   * Runs with foreign keys off — otherwise dropping the old table would cascade-delete
   * its children — and passes only if `PRAGMA foreign_key_check` finds nothing after.
   */
  rebuildsReferencedTable?: boolean;
  /** Steps SQL alone cannot express (reading the current schema), after `sql`. */
  run?: (db: MigrationDb) => void;
}

/** The slice of the database a migration step uses. */
export interface MigrationDb {
  exec(sql: string): unknown;
  prepare(sql: string): { get(...params: unknown[]): unknown };
}



const RUN_STATUSES = `'queued','running','finished','cancelled','failed','crashed','killed','oom','interrupted'`;
/** Version 5 adds 'paused'. */
const RUN_STATUSES_V5 = `'queued','running','paused','finished','cancelled','failed','crashed','killed','oom','interrupted'`;

/**
 * Recreate `runs` with the v5 status list. The new table is made from the stored
 * CREATE statement (which SQLite keeps up to date with every ADD COLUMN), so whatever
 * columns earlier migrations added come along in order and `SELECT *` copies them;
 * ids stay, so metrics, checkpoints and artifacts still point at their runs.
 */
function rebuildRunsWithPausedStatus(db: MigrationDb): void {
  const row = db.prepare(`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'runs'`).get() as { sql: string } | undefined;
  if (!row) throw new Error('migration 5: there is no runs table');
  const check = `CHECK (status IN (${RUN_STATUSES}))`;
  if (!row.sql.includes(check)) throw new Error('migration 5: the runs table does not have the expected status CHECK');
  const created = row.sql.replace(/^CREATE TABLE "?runs"?/, 'CREATE TABLE runs_rebuilt').replace(check, `CHECK (status IN (${RUN_STATUSES_V5}))`);
  db.exec(created);
  db.exec(`
    INSERT INTO runs_rebuilt SELECT * FROM runs;
    DROP TABLE runs;
    ALTER TABLE runs_rebuilt RENAME TO runs;
    CREATE INDEX runs_by_project ON runs (project_id, id);
  `);
}

/**
 * The settings and final metrics migration 12 gives run_facets typed columns for
 * (`s_<setting>`, `m_<metric>`), written once by SQLite from the JSON as a row is
 * stored, so the history groups and sorts over plain values instead of parsing each
 * run's JSON per query. Frozen with migration 12 (a setting added later is read from
 * the config JSON, as every setting was before; give it a column in a later migration
 * if it must group fast). Names are identifiers: they are written into the SQL.
 */
export const FACET_SETTINGS_V12 = [
  'architecture', 'family', 'flow', 'flowSteps', 'labelFraction', 'classifierWeight', 'classifier', 'codebookSize',
  'codeDim', 'commitment', 'codebookDecay', 'priorEpochs', 'codePositions', 'codeGrid', 'convArch', 'convWidth',
  'convResBlocks', 'convNorm', 'latent', 'hidden', 'decoder', 'gaussianSigma', 'decoderVariance', 'mixtureComponents',
  'objective', 'beta', 'klWarmupSteps', 'freeBits', 'capacityMax', 'capacitySteps', 'capacityGamma', 'denoise',
  'denoiseSigma', 'denoiseMaskProb', 'epochs', 'batchSize', 'learningRate', 'lrDecay', 'lrDecayRate', 'lrDecaySteps',
  'iwaeSamples', 'seed', 'validationFraction', 'backend', 'threads',
] as const;
export const FACET_METRICS_V12 = ['loss', 'val_loss', 'val_elbo', 'val_recon', 'val_kl', 'test_nll', 'test_bpd', 'seconds'] as const;

/**
 * Migration 12's run_facets: v9's columns, `config` NULL where the stored config is not
 * JSON (the history still lists that run, marked, instead of failing the page or the
 * migration), and the typed columns above as STORED generated columns.
 */
function runFacetsV12(): string {
  const settings = FACET_SETTINGS_V12.map((name) => `s_${name} ANY AS (json_extract(config, '$.${name}')) STORED`);
  const metrics = FACET_METRICS_V12.map((name) => `m_${name} ANY AS (json_extract(summary, '$.${name}')) STORED`);
  // Text that is not JSON becomes NULL (config) or empty (summary, tags): jsonb() would throw.
  const config = (text: string) => `CASE WHEN json_valid(${text}) THEN jsonb(${text}) END`;
  const summary = (text: string) => `CASE WHEN json_valid(${text}) THEN jsonb(${text}) ELSE jsonb('{}') END`;
  const tags = (text: string) => `CASE WHEN json_valid(${text}) THEN jsonb(${text}) ELSE jsonb('[]') END`;
  const values = (row: string) =>
    `${row}id, ${row}project_id, ${row}dataset_id, ${row}name, ${row}status, ${row}created_at, ${row}epochs_done, ` +
    `${config(`${row}config_json`)}, ${summary(`${row}summary_json`)}, ${tags(`${row}tags_json`)}`;
  const columns = 'run_id, project_id, dataset_id, name, status, created_at, epochs_done, config, summary, tags';
  return `
    DROP TRIGGER IF EXISTS run_facets_insert;
    DROP TRIGGER IF EXISTS run_facets_update;
    DROP TABLE run_facets;
    CREATE TABLE run_facets (
      run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
      project_id INTEGER NOT NULL,
      dataset_id INTEGER NOT NULL,
      name TEXT NOT NULL,
      status TEXT NOT NULL,
      created_at TEXT NOT NULL,
      epochs_done INTEGER NOT NULL,
      config BLOB,
      summary BLOB NOT NULL,
      tags BLOB NOT NULL,
      ${[...settings, ...metrics].join(',\n      ')}
    ) STRICT;
    CREATE INDEX run_facets_by_project ON run_facets (project_id, run_id);
    CREATE INDEX run_facets_by_status ON run_facets (project_id, status);
    -- A sweep's best trials and early stopping read validation losses only: by value (the
    -- lowest, one seek) and by epoch (the lowest by a rung), never a whole curve.
    CREATE INDEX metrics_val_loss_by_value ON metrics (run_id, value) WHERE name = 'val_loss';
    CREATE INDEX metrics_val_loss_by_epoch ON metrics (run_id, epoch, value) WHERE name = 'val_loss';
    INSERT INTO run_facets (${columns}) SELECT ${values('')} FROM runs;
    CREATE TRIGGER run_facets_insert AFTER INSERT ON runs BEGIN
      INSERT INTO run_facets (${columns}) VALUES (${values('NEW.')});
    END;
    CREATE TRIGGER run_facets_update AFTER UPDATE OF project_id, dataset_id, name, status, created_at, epochs_done, config_json, summary_json, tags_json ON runs BEGIN
      UPDATE run_facets SET project_id = NEW.project_id, dataset_id = NEW.dataset_id, name = NEW.name, status = NEW.status,
        created_at = NEW.created_at, epochs_done = NEW.epochs_done, config = ${config('NEW.config_json')},
        summary = ${summary('NEW.summary_json')}, tags = ${tags('NEW.tags_json')}
      WHERE run_id = NEW.id;
    END;
  `;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    description: 'projects, datasets, runs, metrics, checkpoints, artifacts',
    sql: `
      CREATE TABLE projects (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL
      ) STRICT;

      CREATE TABLE datasets (
        id INTEGER PRIMARY KEY,
        project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        source_path TEXT NOT NULL,
        width INTEGER NOT NULL CHECK (width > 0),
        height INTEGER NOT NULL CHECK (height > 0),
        channels INTEGER NOT NULL CHECK (channels IN (1, 3)),
        count INTEGER NOT NULL CHECK (count >= 0),
        labels_json TEXT NOT NULL,
        label_counts_json TEXT NOT NULL,
        skipped_json TEXT NOT NULL,
        settings_json TEXT NOT NULL,
        blob_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (project_id, name)
      ) STRICT;

      CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE RESTRICT,
        name TEXT NOT NULL,
        config_json TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN (${RUN_STATUSES})),
        backend TEXT,
        backend_notes_json TEXT NOT NULL DEFAULT '[]',
        error_json TEXT,
        created_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT,
        epochs_done INTEGER NOT NULL DEFAULT 0,
        last_step INTEGER NOT NULL DEFAULT 0,
        summary_json TEXT NOT NULL DEFAULT '{}'
      ) STRICT;
      CREATE INDEX runs_by_project ON runs (project_id, id);

      CREATE TABLE metrics (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        step INTEGER NOT NULL,
        epoch INTEGER NOT NULL,
        value REAL NOT NULL,
        t_ms INTEGER NOT NULL,
        PRIMARY KEY (run_id, name, step)
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE checkpoints (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        epoch INTEGER NOT NULL,
        step INTEGER NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('last', 'best')),
        blob_hash TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        created_at TEXT NOT NULL
      ) STRICT;

      CREATE TABLE artifacts (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        epoch INTEGER NOT NULL,
        blob_hash TEXT NOT NULL,
        mime TEXT NOT NULL,
        created_at TEXT NOT NULL
      ) STRICT;
      CREATE INDEX artifacts_by_run ON artifacts (run_id, kind, epoch);
    `,
  },
  {
    version: 2,
    description: 'run notes and tags; worker pid for crash recovery',
    sql: `
      ALTER TABLE runs ADD COLUMN notes TEXT NOT NULL DEFAULT '';
      ALTER TABLE runs ADD COLUMN tags_json TEXT NOT NULL DEFAULT '[]';
      ALTER TABLE runs ADD COLUMN worker_pid INTEGER;
    `,
  },
  {
    version: 3,
    description: 'dataset file index (re-import reuse), split counts, import stats, versions',
    sql: `
      ALTER TABLE datasets ADD COLUMN index_hash TEXT;
      ALTER TABLE datasets ADD COLUMN split_json TEXT NOT NULL DEFAULT '{"train":0,"validation":0,"test":0}';
      ALTER TABLE datasets ADD COLUMN stats_json TEXT NOT NULL DEFAULT '{}';
      ALTER TABLE datasets ADD COLUMN previous_id INTEGER REFERENCES datasets(id) ON DELETE SET NULL;
    `,
  },
  {
    version: 4,
    description: 'the GPU adapter a run trained on (JSON GpuAdapterInfo)',
    sql: `
      ALTER TABLE runs ADD COLUMN backend_adapter_json TEXT;
    `,
  },
  {
    version: 5,
    description: "run status 'paused' (runs rebuilt with the new CHECK; rows, ids and references kept)",
    sql: '',
    rebuildsReferencedTable: true,
    run: rebuildRunsWithPausedStatus,
  },
  {
    version: 6,
    description: 'imported models: the model card and origin of a run brought in by models.import (NULL for trained runs)',
    sql: `
      ALTER TABLE runs ADD COLUMN imported_json TEXT;
    `,
  },
  {
    version: 7,
    description: 'dataset health: the blob of its import-time health report (NULL until computed)',
    sql: `
      ALTER TABLE datasets ADD COLUMN health_hash TEXT;
    `,
  },
  {
    version: 8,
    description: 'sweeps: one row per sweep (its request, plan and progress); runs.sweep_id names the sweep a trial run belongs to',
    sql: `
      CREATE TABLE sweeps (
        id INTEGER PRIMARY KEY,
        project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('running','paused','finished','cancelled','failed')),
        request_json TEXT NOT NULL,
        base_config_json TEXT NOT NULL,
        plan_json TEXT NOT NULL,
        dispatched INTEGER NOT NULL DEFAULT 0 CHECK (dispatched >= 0),
        stopped_json TEXT NOT NULL DEFAULT '{}',
        held_json TEXT NOT NULL DEFAULT '[]',
        error_json TEXT,
        created_at TEXT NOT NULL,
        finished_at TEXT
      ) STRICT;
      CREATE INDEX sweeps_by_project ON sweeps (project_id, id);
      ALTER TABLE runs ADD COLUMN sweep_id INTEGER REFERENCES sweeps(id) ON DELETE SET NULL;
      CREATE INDEX runs_by_sweep ON runs (sweep_id);
    `,
  },
  {
    version: 9,
    description:
      'runs history: run_facets, a narrow copy of what the history filters, sorts and groups on (config and summary as JSONB), kept by triggers',
    sql: `
      CREATE TABLE run_facets (
        run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
        project_id INTEGER NOT NULL,
        dataset_id INTEGER NOT NULL,
        name TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        epochs_done INTEGER NOT NULL,
        config BLOB NOT NULL,
        summary BLOB NOT NULL,
        tags BLOB NOT NULL
      ) STRICT;
      CREATE INDEX run_facets_by_project ON run_facets (project_id, run_id);
      CREATE INDEX run_facets_by_status ON run_facets (project_id, status);
      INSERT INTO run_facets
        SELECT id, project_id, dataset_id, name, status, created_at, epochs_done, jsonb(config_json), jsonb(summary_json), jsonb(tags_json) FROM runs;
      CREATE TRIGGER run_facets_insert AFTER INSERT ON runs BEGIN
        INSERT INTO run_facets VALUES (NEW.id, NEW.project_id, NEW.dataset_id, NEW.name, NEW.status, NEW.created_at,
          NEW.epochs_done, jsonb(NEW.config_json), jsonb(NEW.summary_json), jsonb(NEW.tags_json));
      END;
      CREATE TRIGGER run_facets_update AFTER UPDATE OF project_id, dataset_id, name, status, created_at, epochs_done, config_json, summary_json, tags_json ON runs BEGIN
        UPDATE run_facets SET project_id = NEW.project_id, dataset_id = NEW.dataset_id, name = NEW.name, status = NEW.status,
          created_at = NEW.created_at, epochs_done = NEW.epochs_done, config = jsonb(NEW.config_json),
          summary = jsonb(NEW.summary_json), tags = jsonb(NEW.tags_json)
        WHERE run_id = NEW.id;
      END;
    `,
  },
  {
    version: 10,
    description: 'dataset health with a run: the blob of the run\'s scores of every image (one per run, replaced when scored again)',
    sql: `
      CREATE TABLE run_health (
        run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
        blob_hash TEXT NOT NULL,
        checkpoint_epoch INTEGER NOT NULL,
        created_at TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 11,
    description: 'workspace settings (key → JSON value): the Redis URL runs are sent to',
    sql: `
      CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value_json TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 12,
    description:
      'runs history: run_facets gets typed columns for every setting and final metric it groups and sorts on (generated from the JSON as a row is stored), and lists a run whose stored config is not JSON with no config instead of failing; validation losses indexed for sweeps',
    sql: runFacetsV12(),
  },
  {
    version: 13,
    description: 'a run sent to a Redis queue that no worker is connected to: which Redis (no password) and since when (cleared once a worker takes it)',
    sql: `ALTER TABLE runs ADD COLUMN waiting_json TEXT;`,
  },
];

export const LATEST_VERSION = migrations[migrations.length - 1]!.version;
