import type { RunConfig } from '@shared/config';

/**
 * Schedules, as pure functions of the 1-based optimizer step, so that a resumed run
 * (which only restores the step counter) continues them exactly.
 */
export type ScheduleConfig = Pick<
  RunConfig,
  | 'objective'
  | 'beta'
  | 'klWarmupSteps'
  | 'freeBits'
  | 'capacityMax'
  | 'capacitySteps'
  | 'capacityGamma'
  | 'learningRate'
  | 'lrDecay'
  | 'lrDecayRate'
  | 'lrDecaySteps'
>;

/** What the objective looks like at one step. */
export interface ObjectiveSettings {
  kind: RunConfig['objective'];
  /** β(t): weight of the KL term ('beta' objective). */
  klWeight: number;
  /** Free bits λ per latent dim, 0 = off ('beta' objective). */
  freeBits: number;
  /** C(t) in nats ('capacity' objective). */
  capacity: number;
  /** γ ('capacity' objective). */
  gamma: number;
}

const ramp = (step: number, over: number): number => (over <= 0 ? 1 : Math.min(1, step / over));

export function objectiveAt(config: ScheduleConfig, step: number): ObjectiveSettings {
  return {
    kind: config.objective,
    // KL warm-up: β(t) = β · min(1, t/N); without warm-up β(t) = β.
    klWeight: config.beta * ramp(step, config.klWarmupSteps),
    freeBits: config.freeBits,
    capacity: config.capacityMax * ramp(step, config.capacitySteps),
    gamma: config.capacityGamma,
  };
}

/** The learning rate used by optimizer step `step` (1-based): the first step always uses the base rate. */
export function learningRateAt(config: ScheduleConfig, step: number): number {
  const t = Math.max(0, step - 1);
  switch (config.lrDecay) {
    case 'none':
      return config.learningRate;
    case 'exponential':
      return config.learningRate * config.lrDecayRate ** (t / config.lrDecaySteps);
    case 'step':
      return config.learningRate * config.lrDecayRate ** Math.floor(t / config.lrDecaySteps);
  }
}
