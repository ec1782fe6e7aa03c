/* eslint-disable @typescript-eslint/no-explicit-any */
export interface TimelineRow {
  kind: "event" | "session";
  id: string;
  time: string;
  title: string;
  detail: string;
  invalid: boolean;
  doc: Record<string, unknown>;
}

/** A profile's events and session starts, newest first. */
export function timeline(events: Record<string, any>[], sessions: Record<string, any>[]): TimelineRow[] {
  const rows: TimelineRow[] = [
    ...events.map((e) => ({
      kind: "event" as const,
      id: String(e.id),
      time: String(e.time?.create ?? e.time?.insert ?? ""),
      title: String(e.type),
      detail: "",
      invalid: e.metadata?.valid === false,
      doc: e,
    })),
    ...sessions.map((s) => ({
      kind: "session" as const,
      id: String(s.id),
      time: String(s.start ?? ""),
      title: "session",
      detail: `${s.events ?? 0} events over ${Math.round((s.duration ?? 0) / 1000)} s`,
      invalid: false,
      doc: s,
    })),
  ];
  return rows.sort((a, b) => Date.parse(b.time) - Date.parse(a.time) || (a.kind === "session" ? 1 : -1));
}
