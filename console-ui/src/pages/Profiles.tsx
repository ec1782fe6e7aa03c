import { useState, type FormEvent } from "react";
import { Link } from "react-router";
import { api, ApiError, must, type Schemas } from "../api/client";
import { useLoad } from "../lib/hooks";
import { ErrorNote, when } from "../lib/ui";
import { ConditionInput } from "../lib/ConditionInput";

type Page = Schemas["PageOut"];
const SIZE = 50;

/** A page of profiles: all of them, or those a condition selects. */
function loadPage(condition: string, after: string | null): Promise<Page> {
  if (condition) {
    return must(api.POST("/profiles/search", { body: { condition, size: SIZE, after } }));
  }
  return must(api.GET("/profiles", { params: { query: { size: SIZE, after } } }));
}

export function Profiles() {
  const [text, setText] = useState("");
  const [condition, setCondition] = useState("");
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const after = cursors[cursors.length - 1];
  const { data, error, loading } = useLoad(() => loadPage(condition, after), [condition, after]);

  function search(event: FormEvent) {
    event.preventDefault();
    setCondition(text.trim());
    setCursors([null]);
  }
  const conditionError = error instanceof ApiError && error.field === "condition" ? error : null;
  return (
    <>
      <div className="toolbar">
        <h1>Profiles</h1>
        {data && <span className="muted" data-testid="total">{data.total} profiles</span>}
      </div>
      <form className="search" onSubmit={search} aria-label="search profiles">
        <ConditionInput value={text} onChange={setText} error={conditionError}
          placeholder="profile.stats.visits >= 2 and profile.data.contact.email exists" />
        <button type="submit">Search</button>
      </form>
      {!conditionError && <ErrorNote error={error} />}
      {data?.hint && <p className="hint">{data.hint}</p>}
      <table className="list" aria-label="profiles" aria-busy={loading}>
        <thead>
          <tr>
            <th>Id</th><th>Email</th><th>Events</th><th>Visits</th><th>Last visit</th><th>Segments</th>
          </tr>
        </thead>
        <tbody>
          {data?.items.map((p) => {
            const profile = p as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
            return (
              <tr key={profile.id}>
                <td><Link to={`/profiles/${encodeURIComponent(profile.id)}`}>{profile.id}</Link></td>
                <td>{profile.data?.contact?.email ?? ""}</td>
                <td className="num">{profile.stats?.events ?? 0}</td>
                <td className="num">{profile.stats?.visits ?? 0}</td>
                <td>{when(profile.metadata?.time?.last_visit)}</td>
                <td>{(profile.segments ?? []).join(", ")}</td>
              </tr>
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
