// `vae-studio export` and `vae-studio import-model` end to end: the real CLI over the
// built app (`npm run build` first), JSON lines out, a second workspace to import into.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, writeImageFolder } from '../core/testing';
import { requireBuiltApp, runCli, type CliResult } from './testing';

let dir: ReturnType<typeof tempDir>;

const cli = (home: string, args: string[]): CliResult => runCli(join(dir.path, home), args);

beforeAll(async () => {
  requireBuiltApp();
  dir = tempDir();
  await writeImageFolder(join(dir.path, 'shapes'), ['left', 'right'], 20, { size: 8 });
});
afterAll(() => dir.cleanup());

describe('vae-studio export / import-model', () => {
  it('exports a trained run in every format and imports the archive into another workspace', () => {
    expect(cli('a', ['import', join(dir.path, 'shapes'), '--size', '8', '--name', 'shapes']).status).toBe(0);
    const trained = cli('a', ['train', '--dataset', 'shapes', '--epochs', '1', '--batch', '16', '--latent', '2', '--hidden', '16', '--backend', 'cpu']);
    expect(trained.status, trained.stderr).toBe(0);
    const runId = (trained.lines.at(-1) as { run: { id: number } }).run.id;

    const archive = cli('a', ['export', String(runId), join(dir.path, 'model')]);
    expect(archive.status, archive.stderr).toBe(0);
    const result = archive.lines.at(-1) as { type: string; command: string; format: string; path: string; bytes: number; card: { architecture: { latent: number } } };
    expect(result).toMatchObject({ type: 'result', command: 'export', format: 'archive', path: join(dir.path, 'model.vaestudio') });
    expect(result.card.architecture.latent).toBe(2);
    expect(existsSync(result.path)).toBe(true);

    for (const format of ['tfjs', 'onnx']) {
      const folder = cli('a', ['export', String(runId), join(dir.path, `out-${format}`), '--format', format, '--checkpoint', 'last']);
      expect(folder.status, folder.stderr).toBe(0);
      expect(readdirSync(join(dir.path, `out-${format}`))).toContain(format);
    }

    const imported = cli('b', ['import-model', result.path, '--project', 'models']);
    expect(imported.status, imported.stderr).toBe(0);
    const run = (imported.lines.at(-1) as { run: { id: number; status: string; imported: { card: { source: { runId: number } } } } }).run;
    expect(run.status).toBe('finished');
    expect(run.imported.card.source.runId).toBe(runId);
    const listed = cli('b', ['runs', '--project', 'models']);
    expect((listed.lines.at(-1) as { runs: { id: number }[] }).runs.map((r) => r.id)).toEqual([run.id]);
  }, 120_000);

  it('answers bad input with a JSON error naming the field, exit code 1', () => {
    const noRun = cli('a', ['export', 'x', join(dir.path, 'm')]);
    expect(noRun.status).toBe(1);
    expect(noRun.lines.at(-1)).toMatchObject({ type: 'error', error: { code: 'invalid_input', details: { field: 'run' } } });

    const badFormat = cli('a', ['export', '1', join(dir.path, 'm'), '--format', 'pickle']);
    expect(badFormat.status).toBe(1);
    expect(badFormat.lines.at(-1)).toMatchObject({ type: 'error', error: { code: 'invalid_input', details: { field: 'format' } } });

    writeFileSync(join(dir.path, 'foreign.vaestudio'), 'hello');
    const foreign = cli('b', ['import-model', join(dir.path, 'foreign.vaestudio')]);
    expect(foreign.status).toBe(1);
    expect(foreign.lines.at(-1)).toMatchObject({ type: 'error', error: { code: 'invalid_input', details: { field: 'path' } } });
    expect(String((foreign.lines.at(-1) as { error: { message: string } }).error.message)).toMatch(/foreign\.vaestudio is not a usable VAE Studio model export/);
  });
});
