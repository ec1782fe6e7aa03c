/** The line of `text` a condition error names, and its column, for a caret under it;
 * null when the error says no position. */
export function markAt(text: string, body: unknown): { line: string; column: number } | null {
  const found = body as { line?: unknown; column?: unknown } | null;
  if (typeof found?.line !== "number" || typeof found?.column !== "number") return null;
  const lines = text.split("\n");
  const line = lines[found.line - 1] ?? "";
  return { line, column: Math.max(1, Math.min(found.column, line.length + 1)) };
}
