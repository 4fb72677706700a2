import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/**
 * Physical cores this process may use: distinct (package, core) pairs of the CPUs in
 * Linux's topology (hyper-threads share a core's arithmetic units, so a second
 * replica on a sibling mostly waits), capped by what the process is allowed to run on
 * (affinity, cgroup: availableParallelism). Elsewhere, or when the topology cannot be
 * read, the logical CPUs.
 */
export function physicalCores(): number {
  const allowed = Math.max(1, availableParallelism());
  try {
    const root = '/sys/devices/system/cpu';
    const cores = new Set<string>();
    for (const name of readdirSync(root)) {
      if (!/^cpu\d+$/.test(name)) continue;
      const read = (file: string): string => readFileSync(`${root}/${name}/topology/${file}`, 'utf8').trim();
      cores.add(`${read('physical_package_id')}:${read('core_id')}`);
    }
    return cores.size > 0 ? Math.min(cores.size, allowed) : allowed;
  } catch {
    return allowed;
  }
}
