import type { z } from 'zod';
import { ApiError } from './errors';
import { isRequestName, requestSchemas, type ParsedInput, type RequestName } from './api';

/** Turns a zod failure into a typed error that names the first bad field. */
export function zodToApiError(error: z.ZodError, context: string): ApiError {
  const issues = error.issues.map((issue) => ({
    field: issue.path.map(String).join('.') || '(input)',
    message: issue.message,
  }));
  const first = issues[0] ?? { field: '(input)', message: 'invalid' };
  return new ApiError('invalid_input', `${context}: ${first.field}: ${first.message}`, {
    field: first.field,
    issues,
  });
}

export function parseRequest<N extends RequestName>(name: N, input: unknown): ParsedInput<N> {
  const schema = requestSchemas[name] as unknown as z.ZodType<ParsedInput<N>>;
  const result = schema.safeParse(input ?? {});
  if (!result.success) throw zodToApiError(result.error, name);
  return result.data;
}

export function assertRequestName(name: string): RequestName {
  if (!isRequestName(name)) {
    throw new ApiError('not_found', `Unknown request "${name}"`, { field: 'name', name });
  }
  return name;
}
