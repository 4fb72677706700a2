import { describe } from 'vitest';

/**
 * Tests that need a WebGPU adapter run for real wherever one exists — CI has none but
 * gets Mesa's lavapipe (software Vulkan) from .ci/install-lavapipe. Without an adapter
 * they fail and say how to get one; only an explicit VAE_STUDIO_NO_GPU_TESTS=1 leaves
 * them out, and says so.
 */
export const GPU_TESTS_OPTED_OUT = process.env['VAE_STUDIO_NO_GPU_TESTS'] === '1';

export const NO_ADAPTER_HELP =
  'These tests need a WebGPU adapter and Dawn found none. Without a GPU, install Mesa ≥ 25 lavapipe ' +
  '(software Vulkan): on Debian 12 run `sudo .ci/install-lavapipe` (mesa-vulkan-drivers and libvulkan1 ' +
  'from bookworm-backports); on Debian 13 / Ubuntu 25.04+ `apt-get install mesa-vulkan-drivers libvulkan1`. ' +
  'Or set VAE_STUDIO_NO_GPU_TESTS=1 to leave the WebGPU tests out.';

/**
 * Per test. Warm, each WebGPU test here takes about a second; the first run on a
 * machine compiles every shader through lavapipe's LLVM (Mesa keeps them in
 * ~/.cache/mesa_shader_cache), which takes tens of seconds on a busy 2-core box.
 */
export const GPU_TEST_TIMEOUT_MS = 180_000;

/** `describe`, unless the GPU tests were explicitly opted out (then a line says so). */
export function describeGpu(name: string, body: () => void): void {
  if (GPU_TESTS_OPTED_OUT) {
    console.log(`VAE_STUDIO_NO_GPU_TESTS=1: "${name}" is not registered (WebGPU tests opted out).`);
    return;
  }
  describe(name, body);
}
