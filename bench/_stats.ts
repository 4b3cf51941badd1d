/**
 * Percentiles of a sample, for the benchmark scripts.
 *
 * @module
 */

/** Percentiles of a sample, in its unit. */
export interface Summary {
  /** Median. */
  p50: number;
  /** 90th percentile. */
  p90: number;
  /** 99th percentile. */
  p99: number;
  /** Mean. */
  mean: number;
  /** How many values. */
  count: number;
}

/**
 * Summarize a sample by nearest-rank percentiles.
 *
 * @param values The sample (not changed).
 * @returns Its percentiles and mean.
 * @throws {RangeError} When the sample is empty.
 */
export function percentile(values: ArrayLike<number>): Summary {
  if (values.length === 0) throw new RangeError("Cannot summarize an empty sample");
  const sorted = Float64Array.from(values).sort();
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    mean: sum / sorted.length,
    count: sorted.length,
  };
}
