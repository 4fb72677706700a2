import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { GpuAdapterInfo } from '@shared/backend-report';
import { insertProjectAndDataset, tempDir } from '../testing';
import { openDatabase } from './db';
import { getRun, insertRun, setRunBackend } from './runs';

describe('run backend record', () => {
  it('keeps the backend, its notes and the GPU adapter; runs without a GPU have no adapter', () => {
    const dir = tempDir();
    try {
      const db = openDatabase(join(dir.path, 'studio.db'));
      insertProjectAndDataset(db);
      const onGpu = insertRun(db, { projectId: 1, datasetId: 1, name: 'gpu', configJson: '{}' }, 'now');
      const onCpu = insertRun(db, { projectId: 1, datasetId: 1, name: 'cpu', configJson: '{}' }, 'now');
      const adapter: GpuAdapterInfo = { vendor: 'nvidia', architecture: 'hopper', device: 'H100', description: 'NVIDIA H100', isFallbackAdapter: false };
      setRunBackend(db, onGpu.id, 'webgpu', ['webgpu: self-check against cpu passed'], adapter);
      setRunBackend(db, onCpu.id, 'wasm', ['webgpu: no WebGPU adapter']);
      expect(getRun(db, onGpu.id)).toMatchObject({ backend: 'webgpu', backendNotes: ['webgpu: self-check against cpu passed'], backendAdapter: adapter });
      expect(getRun(db, onCpu.id)).toMatchObject({ backend: 'wasm', backendNotes: ['webgpu: no WebGPU adapter'] });
      expect(getRun(db, onCpu.id)!.backendAdapter).toBeUndefined();
      db.close();
    } finally {
      dir.cleanup();
    }
  });
});
