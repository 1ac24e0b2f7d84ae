/**
 * Asserts stay on in production. Pass a constant message (or none): a template string would
 * allocate on every call of a hot path.
 */
export { strict as assert } from 'node:assert';

/** Narrows away undefined; for indexed access whose presence an invariant guarantees. */
export function defined<T>(value: T | undefined, message?: string): T {
  if (value === undefined) {
    throw new Error(message ?? 'invariant: value must be defined');
  }
  return value;
}
