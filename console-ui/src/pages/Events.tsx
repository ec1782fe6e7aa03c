/* eslint-disable @typescript-eslint/no-explicit-any */
import { Fragment, useState, type FormEvent } from "react";
import { Link } from "react-router";
import { api, must, type Schemas } from "../api/client";
import { useLoad } from "../lib/hooks";
import { ErrorNote, Json, when } from "../lib/ui";

type Kind = "events" | "sessions";
type Filters = Record<string, string>;
const FIELDS: Record<Kind, string[]> = {
  events: ["type", "source_id", "profile_id", "session_id"],
  sessions: ["profile_id"],
};

/** The form's filters as the API takes them: local datetime-local values as UTC ISO. */
export function eventQuery(filters: Filters): Filters {
  const query: Filters = {};
  for (const [name, value] of Object.entries(filters)) {
    const text = value.trim();
    if (!text) continue;
    query[name] = name === "since" || name === "until" ? new Date(text).toISOString() : text;
  }
  return query;
}

function load(kind: Kind, filters: Filters, after: string | null): Promise<Schemas["PageOut"]> {
  const query = { ...eventQuery(filters), size: 50, after };
  return kind === "events"
    ? must(api.GET("/events", { params: { query } }))
    : must(api.GET("/sessions", { params: { query } }));
}

export function Events({ kind }: { kind: Kind }) {
  const [draft, setDraft] = useState<Filters>({});
  const [filters, setFilters] = useState<Filters>({});
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [open, setOpen] = useState<string | null>(null);
  const after = cursors[cursors.length - 1];
  const { data, error } = useLoad(() => load(kind, filters, after), [kind, filters, after], 15_000);

  function apply(event: FormEvent) {
    event.preventDefault();
    setFilters(Object.fromEntries(Object.entries(draft).filter(([, v]) => v.trim())));
    setCursors([null]);
  }
  return (
    <>
      <div className="toolbar">
        <h1>{kind === "events" ? "Events" : "Sessions"}</h1>
        {data && <span className="muted">{data.total} found</span>}
      </div>
      <form className="inline" onSubmit={apply} aria-label="filters">
        {FIELDS[kind].map((field) => (
          <label key={field}>
            {field.replace("_", " ")}
            <input value={draft[field] ?? ""} onChange={(e) => setDraft({ ...draft, [field]: e.target.value })} />
          </label>
        ))}
        {kind === "events" && (
          <>
            <label>
              from
              <input type="datetime-local" value={draft.since ?? ""}
                onChange={(e) => setDraft({ ...draft, since: e.target.value })} />
            </label>
            <label>
              to
              <input type="datetime-local" value={draft.until ?? ""}
                onChange={(e) => setDraft({ ...draft, until: e.target.value })} />
            </label>
            <label>
              validity
              <select value={draft.valid ?? ""} onChange={(e) => setDraft({ ...draft, valid: e.target.value })}>
                <option value="">all</option>
                <option value="true">valid</option>
                <option value="false">invalid</option>
              </select>
            </label>
          </>
        )}
        <button type="submit">Filter</button>
      </form>
      <ErrorNote error={error} />
      {data?.hint && <p className="hint">{data.hint}</p>}
      <table className="list" aria-label={kind}>
        <thead>
          {kind === "events" ? (
            <tr><th>Received</th><th>Type</th><th>Profile</th><th>Source</th><th>Valid</th></tr>
          ) : (
            <tr><th>Start</th><th>Session</th><th>Profile</th><th>Events</th><th>Duration</th></tr>
          )}
        </thead>
        <tbody>
          {data?.items.map((item) => {
            const d = item as Record<string, any>;
            const profile = d.profile?.id;
            const profileCell = profile ? <Link to={`/profiles/${encodeURIComponent(profile)}`}>{profile}</Link> : "—";
            return (
              <Fragment key={d.id}>
                <tr className="clickable" tabIndex={0} onClick={() => setOpen(open === d.id ? null : d.id)}
                  onKeyDown={(e) => e.key === "Enter" && setOpen(open === d.id ? null : d.id)}>
                  {kind === "events" ? (
                    <>
                      <td>{when(d.time?.insert)}</td><td>{d.type}</td><td>{profileCell}</td>
                      <td><code>{d.source?.id}</code></td>
                      <td>{d.metadata?.valid === false ? <span className="badge warn">invalid</span> : "yes"}</td>
                    </>
                  ) : (
                    <>
                      <td>{when(d.start)}</td><td><code>{d.id}</code></td><td>{profileCell}</td>
                      <td className="num">{d.events}</td><td className="num">{Math.round((d.duration ?? 0) / 1000)} s</td>
                    </>
                  )}
                </tr>
                {open === d.id && (
                  <tr className="detail">
                    <td colSpan={5}>
                      {d.metadata?.errors?.length > 0 && (
                        <ul className="error">{d.metadata.errors.map((e: string) => <li key={e}>{e}</li>)}</ul>
                      )}
                      <Json value={d} />
                    </td>
                  </tr>
                )}
              </Fragment>
            );
          })}
        </tbody>
      </table>
      <div className="pager">
        <button type="button" className="secondary" disabled={cursors.length < 2}
          onClick={() => setCursors((c) => c.slice(0, -1))}>Previous</button>
        <span>Page {cursors.length}</span>
        <button type="button" className="secondary" disabled={!data?.next}
          onClick={() => data?.next && setCursors((c) => [...c, data.next!])}>Next</button>
      </div>
    </>
  );
}
