import { constants, getPriority, setPriority } from 'node:os';

/**
 * Training is background work: the process that trains lowers its own scheduling
 * priority (nice 10 on Linux and macOS, BELOW_NORMAL on Windows) before it starts its
 * training threads, which inherit it (Linux keeps a nice value per thread and a new
 * thread takes its creator's). With every core training, the app's core process and
 * the window then get a core the moment they have work (a frame, an API answer), and
 * training loses only what they use. `VAE_STUDIO_TRAINING_PRIORITY=normal` keeps the
 * priority the process started with (to measure the difference).
 *
 * Returns the priority the process trains at, or null when it could not be changed
 * (never fatal: the run trains at the priority it has).
 */
export function lowerTrainingPriority(env: NodeJS.ProcessEnv = process.env): number | null {
  if (env['VAE_STUDIO_TRAINING_PRIORITY'] === 'normal') return null;
  try {
    const target = constants.priority.PRIORITY_BELOW_NORMAL;
    // Never raise it: a process someone started at nice 15 stays there.
    if (getPriority() < target) setPriority(target);
    return getPriority();
  } catch {
    return null;
  }
}
