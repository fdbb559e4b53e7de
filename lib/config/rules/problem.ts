import type { ConfigInput } from '../schema';

/** One broken rule: the key to change (dot path inside the merged config), what is wrong, and what to do. */
export interface Problem {
  readonly path: string;
  /** Other keys the rule read: when one of them is itself invalid, the problem is not reported. */
  readonly inputs: readonly string[];
  readonly message: string;
  readonly fix: string;
}

/** What every rule group reads: the merged configuration as written, before the loader resolves derived values and adds `envName`. */
export type Config = ConfigInput;

type Add = (when: boolean, path: string, inputs: string[], message: string, fix: string) => void;

/** A list of problems and the one way to add to it: when the condition holds. */
export function collector(): { problems: Problem[]; add: Add } {
  const problems: Problem[] = [];
  const add: Add = (when, path, inputs, message, fix) => {
    if (when) problems.push({ path, inputs, message, fix });
  };
  return { problems, add };
}

/** Three decimals at most, so that a message shows 0.1 rather than 0.09999999999999432. */
export function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
