import { isApiErrorShape } from '@shared/errors';

/** What a form needs to show an error: where (a field name, or the banner) and what. */
export interface UserError {
  code: string;
  message: string;
  /** Input field the core blamed (`details.field`), without any `config.` prefix. */
  field: string | null;
}

export function toUserError(error: unknown): UserError {
  if (isApiErrorShape(error)) {
    const raw = error.details?.['field'];
    const field = typeof raw === 'string' && raw !== '(input)' ? raw.replace(/^config\./, '') : null;
    return { code: error.code, message: error.message, field };
  }
  return { code: 'internal', message: error instanceof Error ? error.message : String(error), field: null };
}

/**
 * Core messages name the request and the field ("runs.create: config.latent: Too
 * small…"). Next to the field itself only the explanation is useful.
 */
export function fieldMessage(error: UserError): string {
  let text = error.message.replace(/^[a-z]+\.[A-Za-z]+: /, '');
  const prefix = /^[\w.]+: /.exec(text);
  if (prefix && error.field && prefix[0].slice(0, -2).endsWith(error.field)) text = text.slice(prefix[0].length);
  return text.charAt(0).toUpperCase() + text.slice(1);
}
