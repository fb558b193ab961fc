/**
 * A one-shot signal between a test and the code it holds: `fire()` once, `reached` resolves.
 * Tests use it to stop a store call at a chosen point (await `reached` inside the wrapper) and to
 * learn that the code got there (fire it from the wrapper, await it in the test) — waiting on
 * the condition itself, never on a timer.
 */
export interface Signal {
  readonly reached: Promise<void>;
  fire(): void;
}

export function signal(): Signal {
  let fire!: () => void;
  const reached = new Promise<void>((resolve) => (fire = resolve));
  return { reached, fire };
}
