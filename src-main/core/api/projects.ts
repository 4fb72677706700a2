import { ApiError } from '@shared/errors';
import { findProjectByName, insertProject, listProjects } from '../store/projects';
import type { Context, HandlerMap } from './context';

export function projectHandlers(ctx: Context): HandlerMap<'app.info' | 'projects.list' | 'projects.create'> {
  const { db } = ctx.workspace;
  return {
    'app.info': async () => ctx.info,
    'projects.list': async () => listProjects(db),
    'projects.create': async ({ name }) => {
      if (findProjectByName(db, name)) {
        throw new ApiError('conflict', `A project named "${name}" already exists`, { field: 'name' });
      }
      return insertProject(db, name, ctx.now());
    },
  };
}
