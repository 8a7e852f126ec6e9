/**
 * A value the code knows is there where the types cannot tell: the row an upsert's RETURNING always
 * gives, a claim the JWT library has already checked. `why` says why it is certain; if it ever is
 * not, that is a bug, and the error says which certainty failed instead of carrying `undefined` on.
 *
 *     const row = guaranteed(rows[0], "the upsert returns the guard row, inserted or kept");
 */
export function guaranteed<T>(value: T | null | undefined, why: string): T {
  if (value === undefined || value === null) throw new Error(`a value that should be certain is missing: ${why}`);
  return value;
}
