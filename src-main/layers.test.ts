// The layer rules of STYLE.md are enforced by lint; this proves the rules still bite.
import { describe, expect, it } from 'vitest';
import { ESLint } from 'eslint';
import { join } from 'node:path';
import { appPaths } from './paths';

const eslint = new ESLint({ cwd: appPaths.root });

async function restrictedImports(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(appPaths.root, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layer boundaries', () => {
  const forbidden: [string, string][] = [
    ['src-shared/x.ts', "import { readFileSync } from 'node:fs';"],
    ['src-shared/x.ts', "import { createCore } from '../src-main/core/core';"],
    ['src-main/core/x.ts', "import { app } from 'electron';"],
    ['src-main/core/x.ts', "import { startWebServer } from '../web/server';"],
    ['src-main/core/x.ts', "import { fork } from 'node:child_process';"],
    ['src-main/x.ts', "import { fork } from 'node:child_process';"],
    ['src-main/web/x.ts', "import { spawn } from 'child_process';"],
    ['src-worker/x.ts', "import { createCore } from '../src-main/core/core';"],
    ['src-worker/x.ts', "import Database from 'better-sqlite3';"],
    ['src-worker/model/x.ts', "import { readFileSync } from 'node:fs';"],
    ['src-renderer/lib/x.ts', "import { createCore } from '../../src-main/core/core';"],
    ['src-renderer/lib/x.ts', "import { ipcRenderer } from 'electron';"],
    ['src-renderer/lib/x.ts', "import * as tf from '@tensorflow/tfjs-core';"],
  ];
  for (const [file, code] of forbidden) {
    it(`refuses in ${file}: ${code}`, async () => {
      expect(await restrictedImports(file, `${code}\nexport {};\n`)).toHaveLength(1);
    });
  }

  it('lets only the spawners start child processes (and tests, which attack processes of their own)', async () => {
    const fork = "import { fork } from 'node:child_process';\nexport const f = fork;\n";
    for (const file of ['src-main/core/jobs/spawn.ts', 'src-main/electron/utility-worker.ts', 'src-main/x.test.ts', 'src-main/core/x.test.ts']) {
      expect(await restrictedImports(file, fork)).toEqual([]);
    }
  });

  it('allows the contract everywhere', async () => {
    for (const file of ['src-main/core/x.ts', 'src-worker/x.ts', 'src-renderer/lib/x.ts']) {
      expect(await restrictedImports(file, "import { LIMITS } from '@shared/config';\nexport const l = LIMITS;\n")).toEqual([]);
    }
  });
});
