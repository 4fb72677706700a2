import { describe, expect, it } from 'vitest';
import { workerStderrEcho } from './spawn';

describe("a worker's stderr in the app's terminal", () => {
  const capture = (): { text: () => string; echo: ReturnType<typeof workerStderrEcho> } => {
    let out = '';
    return { text: () => out, echo: workerStderrEcho('run 3', (text) => (out += text)) };
  };

  it("prefixes every line with the worker's name, including lines split across chunks", () => {
    const { text, echo } = capture();
    echo.push('first line\nsecond ');
    expect(text()).toBe('[run 3] first line\n');
    echo.push('line\nthird');
    echo.flush();
    expect(text()).toBe('[run 3] first line\n[run 3] second line\n[run 3] third\n');
  });

  it("leaves out Dawn's limit warnings and nothing else", () => {
    const { text, echo } = capture();
    echo.push(
      'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.\n' +
        'Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.\r\n' +
        'Warning: something else the user should see\n' +
        'RangeError: WebAssembly.Memory(): could not allocate memory\n',
    );
    expect(text()).toBe('[run 3] Warning: something else the user should see\n[run 3] RangeError: WebAssembly.Memory(): could not allocate memory\n');
  });
});
