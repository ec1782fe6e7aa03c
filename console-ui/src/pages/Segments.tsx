import { useEffect, useState, type FormEvent } from "react";
import { Link } from "react-router";
import { api, ApiError, must, type Schemas } from "../api/client";
import { ConditionInput } from "../lib/ConditionInput";
import { can } from "../lib/access";
import { useLoad, useSession } from "../lib/hooks";
import { ConfirmButton, ErrorNote } from "../lib/ui";

type Page = Schemas["PageOut"];

/** The count and first members of a condition, re-asked a moment after each edit. */
function useLiveCount(condition: string): { page?: Page; error?: ApiError | Error } {
  const [state, setState] = useState<{ page?: Page; error?: ApiError | Error }>({});
  useEffect(() => {
    if (!condition.trim()) {
      setState({});
      return;
    }
    let live = true;
    const timer = setTimeout(() => {
      must(api.POST("/profiles/search", { body: { condition, size: 5 } })).then(
        (page) => live && setState({ page }),
        (error: Error) => live && setState({ error }),
      );
    }, 400);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [condition]);
  return state;
}

export function Segments() {
  const session = useSession();
  const editable = can(session?.role, "config:write");
  const [name, setName] = useState("");
  const [condition, setCondition] = useState("");
  const [failure, setFailure] = useState<Error | null>(null);
  const list = useLoad(() => must(api.GET("/segments")), []);
  const live = useLiveCount(condition);
  const conditionError = live.error instanceof ApiError && live.error.field === "condition" ? live.error : null;

  async function save(event: FormEvent) {
    event.preventDefault();
    setFailure(null);
    try {
      await must(api.POST("/segments", { body: { name, condition } }));
      setName("");
      setCondition("");
      list.reload();
    } catch (err) {
      setFailure(err as Error);
    }
  }
  async function remove(id: string) {
    try {
      await must(api.DELETE("/segments/{entity_id}", { params: { path: { entity_id: id } } }));
      list.reload();
    } catch (err) {
      setFailure(err as Error);
    }
  }
  return (
    <>
      <div className="toolbar"><h1>Segments</h1></div>
      <form className="editor" onSubmit={save} aria-label="segment editor">
        <label>
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} required disabled={!editable} />
        </label>
        <ConditionInput value={condition} onChange={setCondition} error={conditionError}
          placeholder="profile.stats.visits >= 2" />
        <div className="live" role="status" aria-live="polite">
          {live.page && (
            <>
              <strong data-testid="live-count">{live.page.total}</strong> profiles match now
              {live.page.items.length > 0 && ", e.g. "}
              {live.page.items.map((p) => {
                const id = String((p as { id: unknown }).id);
                return <Link key={id} to={`/profiles/${encodeURIComponent(id)}`} className="chip">{id}</Link>;
              })}
            </>
          )}
          {live.error && !conditionError && <span className="error">{live.error.message}</span>}
        </div>
        {editable ? <button type="submit">Save segment</button> : (
          <p className="muted" data-testid="read-only">Your role ({session?.role}) cannot change segments.</p>
        )}
      </form>
      <ErrorNote error={failure ?? list.error} />
      <table className="list" aria-label="segments">
        <thead><tr><th>Name</th><th>Condition</th><th>Version</th><th /></tr></thead>
        <tbody>
          {list.data?.map((s) => (
            <tr key={s.id}>
              <td>{s.name || s.id}</td>
              <td><code>{s.condition}</code></td>
              <td className="num">{s.version}</td>
              <td>{editable && <ConfirmButton label="Delete" question="Delete this segment?" onConfirm={() => void remove(s.id)} />}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
