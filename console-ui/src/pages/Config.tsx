// Event types (validation schemas and reshaping), mappings and merge settings: each
// listed, edited with a form generated from the API's own body schema (or as JSON),
// saved as a new version in the context the switch shows, deployed from staging to
// production and rolled back.
import { useState, type FormEvent } from "react";
import { api, ApiError, must } from "../api/client";
import { can } from "../lib/access";
import { bodySchema } from "../lib/bodySchemas";
import { useLoad, useSession } from "../lib/hooks";
import { SchemaForm } from "../lib/SchemaForm";
import { problemsOf } from "../lib/schemaForm";
import { ErrorNote, Json, when } from "../lib/ui";

type Kind = "event-types" | "mappings";
type Entity = { id: string; event_type: string; source_id?: string | null; version: number; updated_at: string; updated_by: string } & Record<string, unknown>;

const TEMPLATES: Record<Kind, object> = {
  "event-types": {
    event_type: "purchase",
    json_schema: { type: "object", required: ["total"], properties: { total: { type: "number" } } },
    moves: {},
  },
  mappings: { event_type: "signed-up", merge_traits: true, fields: [] },
};

/** The stored entity as a body to edit: without what the server owns. */
export function editable(entity: Record<string, unknown>): Record<string, unknown> {
  const owned = new Set(["id", "env", "updated_at", "updated_by"]);
  return Object.fromEntries(Object.entries(entity).filter(([name]) => !owned.has(name)));
}

/** JSON text to an object, or the reason it is not one. */
export function parseBody(text: string): { body?: Record<string, unknown>; error?: string } {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== "object" || value === null || Array.isArray(value)) return { error: "the body must be a JSON object" };
    return { body: value as Record<string, unknown> };
  } catch (error) {
    return { error: `not JSON: ${(error as Error).message}` };
  }
}

type Body = Record<string, unknown>;

/** A body edited with the form of its API schema, or as JSON text: `body` is what a save
 * sends, or null while the JSON does not parse or the form has problems. */
function BodyEditor({ schemaName, idPrefix, label, value, onChange }: {
  schemaName: string;
  idPrefix: string;
  label: string;
  value: Body;
  onChange: (body: Body | null, draft: Body) => void;
}) {
  const schema = useLoad(() => bodySchema(schemaName), [schemaName]);
  const [text, setText] = useState<string | null>(null); // JSON mode while not null
  const parsed = text === null ? null : parseBody(text);
  const useForm = text === null && schema.data;
  const toForm = () => { if (parsed?.body) { setText(null); onChange(formBody(parsed.body), parsed.body); } };
  const formBody = (body: Body) => (schema.data && Object.keys(problemsOf(schema.data, body)).length ? null : body);
  return (
    <div className="body-editor">
      <div className="row">
        <strong>{label}</strong>
        {useForm ? (
          <button type="button" className="link" onClick={() => setText(JSON.stringify(value, null, 2))}>edit as JSON</button>
        ) : (
          schema.data && <button type="button" className="link" disabled={!parsed?.body} onClick={toForm}>edit with the form</button>
        )}
      </div>
      {useForm ? (
        <SchemaForm schema={schema.data!} value={value} idPrefix={idPrefix} hidden={["version"]}
          onChange={(next) => onChange(formBody(next), next)} />
      ) : (
        <>
          <label>
            {label} (JSON)
            <textarea rows={10} spellCheck={false} value={text ?? JSON.stringify(value, null, 2)}
              onChange={(e) => {
                setText(e.target.value);
                const next = parseBody(e.target.value);
                onChange(next.body ?? null, next.body ?? value);
              }} />
          </label>
          {parsed?.error && <p className="error" role="alert">{parsed.error}</p>}
        </>
      )}
      {schema.error && <p className="muted">Form unavailable ({schema.error.message}): edit as JSON.</p>}
    </div>
  );
}

function list(kind: Kind): Promise<Entity[]> {
  return (kind === "event-types" ? must(api.GET("/event-types")) : must(api.GET("/mappings"))) as Promise<Entity[]>;
}

async function save(kind: Kind, id: string | null, body: Record<string, unknown>): Promise<Entity> {
  // the body is checked by the API (422 with the field); the console sends it as typed
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const data = body as any;
  if (kind === "event-types") {
    return (id
      ? must(api.PUT("/event-types/{entity_id}", { params: { path: { entity_id: id } }, body: data }))
      : must(api.POST("/event-types", { body: data }))) as Promise<Entity>;
  }
  return (id
    ? must(api.PUT("/mappings/{entity_id}", { params: { path: { entity_id: id } }, body: data }))
    : must(api.POST("/mappings", { body: data }))) as Promise<Entity>;
}

function act(kind: Kind, id: string, what: "deploy" | "rollback" | "delete"): Promise<unknown> {
  const params = { params: { path: { entity_id: id } } };
  if (what === "delete") {
    return kind === "event-types" ? must(api.DELETE("/event-types/{entity_id}", params)) : must(api.DELETE("/mappings/{entity_id}", params));
  }
  if (kind === "event-types") {
    return what === "deploy" ? must(api.POST("/event-types/{entity_id}/deploy", params)) : must(api.POST("/event-types/{entity_id}/rollback", params));
  }
  return what === "deploy" ? must(api.POST("/mappings/{entity_id}/deploy", params)) : must(api.POST("/mappings/{entity_id}/rollback", params));
}

function EntityEditor({ kind, title }: { kind: Kind; title: string }) {
  const role = useSession()?.role;
  const [editing, setEditing] = useState<string | null>(null);
  const [draft, setDraft] = useState<Body>(TEMPLATES[kind] as Body);
  const [ready, setReady] = useState<Body | null>(TEMPLATES[kind] as Body);
  const [opened, setOpened] = useState(0); // a new form for each entity opened
  const [note, setNote] = useState<string | null>(null);
  const [failure, setFailure] = useState<Error | null>(null);
  const { data, error, reload } = useLoad(() => list(kind), [kind]);
  const open = (id: string | null, body: Body) => {
    setEditing(id);
    setDraft(body);
    setReady(body);
    setOpened((n) => n + 1);
  };

  async function run(label: string, work: () => Promise<unknown>) {
    setFailure(null);
    setNote(null);
    try {
      await work();
      setNote(label);
      reload();
    } catch (err) {
      setFailure(err as Error);
    }
  }
  function submit(event: FormEvent) {
    event.preventDefault();
    if (ready) void run(editing ? "Saved a new version" : "Created", () => save(kind, editing, ready));
  }
  return (
    <section className="card wide" aria-label={title}>
      <h2>{title}</h2>
      <ErrorNote error={error} />
      <table className="list" aria-label={`${title} list`}>
        <thead>
          <tr><th>Event type</th><th>Source</th><th>Version</th><th>Changed</th><th>Actions</th></tr>
        </thead>
        <tbody>
          {data?.map((item) => (
            <tr key={item.id}>
              <td>{item.event_type}</td>
              <td><code>{item.source_id ?? "any"}</code></td>
              <td className="num">{item.version}</td>
              <td>{when(item.updated_at)} by {item.updated_by}</td>
              <td className="actions">
                <button type="button" className="secondary" onClick={() => open(item.id, editable(item))}>
                  edit {item.event_type}
                </button>
                {can(role, "config:deploy") && (
                  <>
                    <button type="button" className="secondary" onClick={() => void run("Deployed to production", () => act(kind, item.id, "deploy"))}>deploy</button>
                    <button type="button" className="secondary" onClick={() => void run("Production rolled back", () => act(kind, item.id, "rollback"))}>roll back</button>
                  </>
                )}
                {can(role, "config:write") && (
                  <button type="button" className="danger" onClick={() => void run("Deleted", () => act(kind, item.id, "delete"))}>delete</button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {data?.length === 0 && <p className="muted">None in this context.</p>}
      {can(role, "config:write") ? (
        <form onSubmit={submit} className="stack">
          <BodyEditor key={opened} schemaName={kind === "event-types" ? "EventTypeIn" : "MappingIn"} idPrefix={kind}
            label={editing ? `Body of ${editing}` : `New ${title.toLowerCase().replace(/s$/, "")}`}
            value={draft} onChange={(body, next) => { setReady(body); setDraft(next); }} />
          <div className="row">
            <button type="submit" disabled={!ready}>{editing ? "Save version" : "Create"}</button>
            {editing && (
              <button type="button" className="secondary" onClick={() => open(null, TEMPLATES[kind] as Body)}>New instead</button>
            )}
          </div>
        </form>
      ) : (
        <p className="muted" data-testid="read-only">Read only for your role.</p>
      )}
      {note && <p className="ok" role="status">{note}</p>}
      <ErrorNote error={failure} />
    </section>
  );
}

/** The built-in merge settings (core/identity.py), a start for the first version. */
const MERGE_DEFAULTS = {
  keys: [
    { name: "email", path: "data.contact.email", kind: "email", unique: false },
    { name: "phone", path: "data.contact.phone", kind: "phone", unique: false },
    { name: "customer_id", path: "data.identifier.customer_id", kind: "id", unique: true },
  ],
  max_merges: 50,
  strategies: {},
  default_strategy: "last_update",
};

/** The context's merge settings, or null when none are set (a 404: the defaults apply). */
async function mergeSettings() {
  try {
    return await must(api.GET("/merge-settings"));
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

function MergeSettingsEditor() {
  const role = useSession()?.role;
  const { data, error, reload } = useLoad(mergeSettings, []);
  const [draft, setDraft] = useState<{ body: Body | null; value: Body } | null>(null);
  const [opened, setOpened] = useState(0);
  const [note, setNote] = useState<string | null>(null);
  const [failure, setFailure] = useState<Error | null>(null);
  const stored = data ? editable(data as unknown as Record<string, unknown>) : MERGE_DEFAULTS;
  const ready = draft ? draft.body : stored;

  async function run(label: string, work: () => Promise<unknown>) {
    setFailure(null);
    setNote(null);
    try {
      await work();
      setNote(label);
      setDraft(null);
      setOpened((n) => n + 1);
      reload();
    } catch (err) {
      setFailure(err as Error);
    }
  }
  return (
    <section className="card wide" aria-label="Merge settings">
      <h2>Merge settings</h2>
      <ErrorNote error={error} />
      {data && <p className="muted">Version {data.version}, changed {when(data.updated_at)} by {data.updated_by}</p>}
      {data === null && <p className="muted">None set in this context: the built-in defaults apply (shown below).</p>}
      {can(role, "config:write") ? (
        <form className="stack" onSubmit={(e) => {
          e.preventDefault();
          // eslint-disable-next-line @typescript-eslint/no-explicit-any
          if (ready) void run("Saved a new version", () => must(api.PUT("/merge-settings", { body: ready as any })));
        }}>
          <BodyEditor key={`${opened}-${data?.version ?? 0}`} schemaName="MergeSettingsIn" idPrefix="merge" label="Merge settings"
            value={draft?.value ?? stored} onChange={(body, value) => setDraft({ body, value })} />
          <div className="row">
            <button type="submit" disabled={!ready}>Save merge settings</button>
            {can(role, "config:deploy") && (
              <>
                <button type="button" className="secondary" onClick={() => void run("Deployed to production", () => must(api.POST("/merge-settings/deploy")))}>deploy</button>
                <button type="button" className="secondary" onClick={() => void run("Production rolled back", () => must(api.POST("/merge-settings/rollback")))}>roll back</button>
              </>
            )}
          </div>
        </form>
      ) : (
        <Json value={stored} />
      )}
      {note && <p className="ok" role="status">{note}</p>}
      <ErrorNote error={failure} />
    </section>
  );
}

export function Config() {
  return (
    <>
      <div className="toolbar">
        <h1>Data settings</h1>
        <span className="muted">Edited in the context the switch shows; deploy copies staging to production.</span>
      </div>
      <EntityEditor kind="event-types" title="Event types" />
      <EntityEditor kind="mappings" title="Mappings" />
      <MergeSettingsEditor />
    </>
  );
}
