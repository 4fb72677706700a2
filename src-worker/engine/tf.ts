/**
 * The one place the engine imports TensorFlow.js from.
 *
 * tfjs-core does not register any gradient in its package entry point; the gradient
 * definitions only exist as extension-less ES modules under dist/, which Node's own
 * loader cannot run. The build externalizes every '@tensorflow/*' specifier, so the
 * file is imported by path: the bundler (electron-vite for the worker, vite for
 * vitest, later a browser bundle) then inlines it. Its registrations land in the
 * global registry that the externalized tfjs-core copy also reads (tfjs keeps its
 * engine and registries on globalThis precisely so that several copies can share them).
 */
import '../../node_modules/@tensorflow/tfjs-core/dist/register_all_gradients.js';
import * as tf from '@tensorflow/tfjs-core';

export { tf };
