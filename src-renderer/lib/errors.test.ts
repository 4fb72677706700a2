import { describe, expect, it } from 'vitest';
import { ApiError } from '@shared/errors';
import { fieldMessage, toUserError } from './errors';

describe('toUserError', () => {
  it('maps a core error to its field, without the config prefix', () => {
    const error = toUserError(new ApiError('invalid_input', 'runs.create: config.latent: Too small: expected number to be >=1', { field: 'config.latent' }));
    expect(error).toEqual({ code: 'invalid_input', field: 'latent', message: 'runs.create: config.latent: Too small: expected number to be >=1' });
    expect(fieldMessage(error)).toBe('Too small: expected number to be >=1');
  });

  it('keeps messages that do not repeat the field whole', () => {
    const error = toUserError(new ApiError('invalid_input', 'Folder not found: /x/y', { field: 'folder' }));
    expect(error.field).toBe('folder');
    expect(fieldMessage(error)).toBe('Folder not found: /x/y');
  });

  it('sends whole-input and unknown errors to the banner', () => {
    expect(toUserError(new ApiError('invalid_input', 'bad', { field: '(input)' })).field).toBeNull();
    expect(toUserError(new Error('boom'))).toEqual({ code: 'internal', message: 'boom', field: null });
    expect(toUserError('text')).toEqual({ code: 'internal', message: 'text', field: null });
  });
});
