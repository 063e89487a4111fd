// Assertions for values that cannot be missing when the code is right. A violated one is a bug, never the
// caller's fault: it throws an Error whose message starts with "Bug:", which the server masks and logs.

/** The value, asserted present; `what` names it in the message of the bug. */
export function defined<T>(value: T | null | undefined, what: string): T {
  if (value === undefined || value === null) throw new Error(`Bug: ${what} is missing.`);
  return value;
}
