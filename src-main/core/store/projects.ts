import type { Project } from '@shared/types';
import type { Db } from './db';

interface ProjectRow {
  id: number;
  name: string;
  created_at: string;
  run_count: number;
  dataset_count: number;
}

const SELECT = `
  SELECT p.id, p.name, p.created_at,
    (SELECT COUNT(*) FROM runs r WHERE r.project_id = p.id) AS run_count,
    (SELECT COUNT(*) FROM datasets d WHERE d.project_id = p.id) AS dataset_count
  FROM projects p`;

const toProject = (row: ProjectRow): Project => ({
  id: row.id,
  name: row.name,
  createdAt: row.created_at,
  runCount: row.run_count,
  datasetCount: row.dataset_count,
});

export function listProjects(db: Db): Project[] {
  return (db.prepare(`${SELECT} ORDER BY p.id`).all() as ProjectRow[]).map(toProject);
}

export function getProject(db: Db, id: number): Project | undefined {
  const row = db.prepare(`${SELECT} WHERE p.id = ?`).get(id) as ProjectRow | undefined;
  return row && toProject(row);
}

export function findProjectByName(db: Db, name: string): Project | undefined {
  const row = db.prepare(`${SELECT} WHERE p.name = ?`).get(name) as ProjectRow | undefined;
  return row && toProject(row);
}

export function insertProject(db: Db, name: string, now: string): Project {
  const info = db.prepare('INSERT INTO projects (name, created_at) VALUES (?, ?)').run(name, now);
  return getProject(db, Number(info.lastInsertRowid))!;
}
