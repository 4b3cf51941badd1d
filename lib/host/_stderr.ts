const MAX_LINE_CHARS = 64 * 1024;

/**
 * Reads a plugin's stderr line by line and hands each line on as a log record: the JSON
 * object the plugin wrote, or `{level: "info", msg}` for a line that is not one. Lines longer
 * than 64 KiB are cut.
 */
export async function forwardLines(
  stream: AsyncIterable<Uint8Array>,
  onRecord: (record: Record<string, unknown>) => void,
): Promise<void> {
  let buffer = "";
  const emit = (line: string) => {
    if (line.trim() === "") return;
    onRecord(toRecord(line.length > MAX_LINE_CHARS ? line.slice(0, MAX_LINE_CHARS) : line));
  };
  try {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      buffer += decoder.decode(chunk, { stream: true });
      let start = 0;
      let newline;
      while ((newline = buffer.indexOf("\n", start)) !== -1) {
        emit(buffer.slice(start, newline));
        start = newline + 1;
      }
      buffer = buffer.slice(start);
      if (buffer.length > MAX_LINE_CHARS) {
        emit(buffer);
        buffer = "";
      }
    }
    buffer += decoder.decode();
  } catch { /* the process went away */ }
  emit(buffer);
}

function toRecord(line: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(line);
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      return value as Record<string, unknown>;
    }
  } catch { /* not JSON */ }
  return { level: "info", msg: line };
}
