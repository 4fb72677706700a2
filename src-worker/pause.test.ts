import { describe, expect, it } from 'vitest';
import { PauseGate } from './pause';

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5));

describe('pause gate', () => {
  it('passes straight through when not paused, and reports nothing', async () => {
    const states: string[] = [];
    const gate = new PauseGate((s) => states.push(s));
    await gate.wait(() => false);
    gate.pause();
    gate.resume();
    await gate.wait(() => false);
    expect(states).toEqual([]);
  });

  it('holds when paused, reporting paused, until resumed, reporting running', async () => {
    const states: string[] = [];
    const gate = new PauseGate((s) => states.push(s));
    gate.pause();
    let passed = false;
    const waiting = gate.wait(() => false).then(() => (passed = true));
    await tick();
    expect(passed).toBe(false);
    expect(states).toEqual(['paused']);
    gate.resume();
    await waiting;
    expect(states).toEqual(['paused', 'running']);
  });

  it('lets a stop through without claiming to run again', async () => {
    const states: string[] = [];
    let stop = false;
    const gate = new PauseGate((s) => states.push(s));
    gate.pause();
    const waiting = gate.wait(() => stop);
    await tick();
    stop = true;
    gate.interrupt();
    await waiting;
    expect(states).toEqual(['paused']);
  });
});
