/* eslint-disable @typescript-eslint/no-explicit-any */
import { useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { api, must } from "../api/client";
import { can } from "../lib/access";
import { useLoad, useSession } from "../lib/hooks";
import { Card, ConfirmButton, ErrorNote, Json, when } from "../lib/ui";
import { timeline } from "../lib/timeline";

function Fields({ value, label }: { value: Record<string, unknown> | undefined; label: string }) {
  const entries = Object.entries(value ?? {});
  if (entries.length === 0) return <p className="muted">None.</p>;
  return (
    <table aria-label={label}>
      <tbody>
        {entries.map(([key, v]) => (
          <tr key={key}>
            <th scope="row">{key}</th>
            <td>{typeof v === "object" ? JSON.stringify(v) : String(v)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Profile() {
  const { id = "" } = useParams();
  const session = useSession();
  const navigate = useNavigate();
  const [forgotten, setForgotten] = useState<Error | null>(null);
  const profile = useLoad(
    () => must(api.GET("/profiles/{profile_id}", { params: { path: { profile_id: id } } })),
    [id],
    10_000,
  );
  const events = useLoad(
    () => must(api.GET("/events", { params: { query: { profile_id: id, size: 100 } } })),
    [id],
    10_000,
  );
  const sessions = useLoad(
    () => must(api.GET("/sessions", { params: { query: { profile_id: id, size: 100 } } })),
    [id],
    10_000,
  );
  const p = profile.data as Record<string, any> | undefined;
  const rows = timeline(events.data?.items ?? [], sessions.data?.items ?? []);

  async function forget() {
    try {
      await must(api.DELETE("/profiles/{profile_id}", { params: { path: { profile_id: id } } }));
      navigate("/profiles");
    } catch (err) {
      setForgotten(err as Error);
    }
  }

  return (
    <>
      <div className="toolbar">
        <h1>
          <Link to="/profiles">Profiles</Link> / <span data-testid="profile-id">{id}</span>
        </h1>
        {can(session?.role, "data:delete") && (
          <ConfirmButton label="Forget" onConfirm={() => void forget()}
            question="Delete this profile, its events and sessions for good?" />
        )}
      </div>
      <ErrorNote error={profile.error ?? forgotten} />
      {p && (
        <div className="grid">
          {p.merged_into && (
            <p className="hint wide">
              Merged into <Link to={`/profiles/${encodeURIComponent(p.merged_into)}`}>{p.merged_into}</Link>
            </p>
          )}
          <Card title="Stats">
            <Fields label="stats" value={{
              events: p.stats?.events, visits: p.stats?.visits,
              "first visit": when(p.metadata?.time?.first_visit),
              "last visit": when(p.metadata?.time?.last_visit),
            }} />
            <Fields label="events by type" value={p.stats?.by_type} />
          </Card>
          <Card title="Traits"><Fields label="traits" value={p.traits} /></Card>
          <Card title="Contact and data"><Json value={p.data ?? {}} /></Card>
          <Card title="Identities and merged ids">
            <ul className="ids">{(p.ids ?? []).map((i: string) => <li key={i}><code>{i}</code></li>)}</ul>
          </Card>
          <Card title="Consents"><Fields label="consents" value={p.consents} /></Card>
          <Card title="Segments and interests">
            <p>{(p.segments ?? []).join(", ") || "No segments."}</p>
            <Fields label="interests" value={p.interests} />
          </Card>
        </div>
      )}
      <Card title="Timeline" wide>
        <ErrorNote error={events.error ?? sessions.error} />
        <ol className="timeline" aria-label="timeline">
          {rows.map((row) => (
            <li key={`${row.kind}-${row.id}`} className={row.kind}>
              <time>{when(row.time)}</time>
              {row.kind === "session" ? (
                <span>Session <code>{row.id}</code> started, {row.detail}</span>
              ) : (
                <details>
                  <summary>
                    <strong>{row.title}</strong> {row.invalid && <span className="badge warn">invalid</span>}
                  </summary>
                  <Json value={row.doc} />
                </details>
              )}
            </li>
          ))}
        </ol>
        {rows.length === 0 && <p className="muted">No events yet.</p>}
      </Card>
    </>
  );
}
