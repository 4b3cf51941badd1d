/**
 * Markdown tables for the benchmark reports.
 *
 * @module
 */

/**
 * A markdown table with aligned columns.
 *
 * @param header The column titles.
 * @param rows The cells, row by row, as many as the header.
 * @returns The table's lines joined with `\n`, without a final newline.
 */
export function markdownTable(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((row) => row.map(String))];
  const widths = header.map((_, i) => Math.max(3, ...cells.map((row) => (row[i] ?? "").length)));
  const line = (row: string[]) =>
    `| ${row.map((cell, i) => (cell ?? "").padEnd(widths[i]!)).join(" | ")} |`;
  const rule = `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`;
  return [line(cells[0]!), rule, ...cells.slice(1).map(line)].join("\n");
}
