import { expect } from "vitest";
import { UserError } from "../../lib/errors.js";

/** Asserts `fn` throws a UserError with exactly this message (location prefix included) and code. */
export async function expectUserError(fn: () => unknown, message: string, code?: string): Promise<UserError> {
  let thrown: unknown;
  try {
    await fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(UserError);
  const e = thrown as UserError;
  expect(e.message).toBe(message);
  if (code !== undefined) expect(e.code).toBe(code);
  return e;
}
