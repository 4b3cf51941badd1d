/**
 * Label values with a cap on how many distinct values a label takes, so a client that sends
 * a new model name (or a new tenant) with every request cannot grow the series without end.
 *
 * @module
 */

/** The value of an absent field. */
export const NONE = "none";

/** The value of every distinct value beyond the cap. */
export const OTHER = "other";

/** Longest label value kept; longer ones are cut. */
export const MAX_VALUE_LENGTH = 200;

/**
 * The values of one label, capped.
 *
 * @example The third distinct value becomes "other"
 * ```ts
 * import assert from "node:assert/strict";
 * import { CappedLabel } from "./_labels.ts";
 *
 * const label = new CappedLabel(2);
 * assert.deepEqual(["a", "b", "c", "a", undefined].map((v) => label.value(v)), ["a", "b", "other", "a", "none"]);
 * ```
 */
export class CappedLabel {
  #max: number;
  #seen = new Set<string>();
  #onCap: (() => void) | undefined;

  /**
   * @param max Most distinct values kept.
   * @param onCap Called once, the first time a value is folded into `other`.
   */
  constructor(max: number, onCap?: () => void) {
    this.#max = max;
    this.#onCap = onCap;
  }

  /** Distinct values kept so far. */
  get size(): number {
    return this.#seen.size;
  }

  /**
   * The label value for a field.
   *
   * @param raw The field's value.
   * @returns The value itself, `none` when absent or empty, `other` beyond the cap.
   */
  value(raw: string | undefined): string {
    if (raw === undefined || raw === "") return NONE;
    const value = raw.length > MAX_VALUE_LENGTH ? raw.slice(0, MAX_VALUE_LENGTH) : raw;
    if (this.#seen.has(value)) return value;
    if (this.#seen.size < this.#max) {
      this.#seen.add(value);
      return value;
    }
    if (this.#onCap) {
      this.#onCap();
      this.#onCap = undefined;
    }
    return OTHER;
  }
}

/**
 * The class of an HTTP status.
 *
 * @param status The status, if any.
 * @returns `1xx` … `5xx`, or `unknown`.
 */
export function statusClass(status: number | undefined): string {
  if (status === undefined || status < 100 || status > 599) return "unknown";
  return `${Math.floor(status / 100)}xx`;
}
