import { useState, type FormEvent } from "react";
import { api, must, type Schemas } from "../api/client";
import { can } from "../lib/access";
import { useContextName, useLoad, useSession } from "../lib/hooks";
import { analyticsJsSnippet, curlSnippet, trackerSnippet } from "../lib/snippets";
import { CopyButton, ErrorNote } from "../lib/ui";

type Source = Schemas["SourceOut"];
type Issued = { source: string; context: string; key: string };

function Snippets({ source, collector, issued }: { source: Source; collector: string; issued: Issued | null }) {
  const [tab, setTab] = useState<"analytics" | "tracker" | "curl">("analytics");
  const target = {
    collector,
    sourceId: source.id,
    writeKey: issued?.source === source.id ? issued.key : null,
  };
  const text =
    tab === "analytics" ? analyticsJsSnippet(target) : tab === "tracker" ? trackerSnippet(target) : curlSnippet(target);
  return (
    <div className="snippets">
      <div role="tablist" className="segmented">
        {(["analytics", "tracker", "curl"] as const).map((t) => (
          <button key={t} role="tab" type="button" aria-selected={tab === t} className={tab === t ? "on" : ""}
            onClick={() => setTab(t)}>
            {t === "analytics" ? "analytics.js" : t === "tracker" ? "Tracker" : "curl"}
          </button>
        ))}
      </div>
      <pre className="snippet" data-testid="snippet">{text}</pre>
      <CopyButton text={text} label="Copy snippet" />
    </div>
  );
}

export function Sources() {
  const session = useSession();
  const context = useContextName();
  const editable = can(session?.role, "config:write");
  const deployable = can(session?.role, "config:deploy");
  const [name, setName] = useState("");
  const [issued, setIssued] = useState<Issued | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [failure, setFailure] = useState<Error | null>(null);
  const list = useLoad(() => must(api.GET("/sources")), []);
  const info = useLoad(() => must(api.GET("/console/info")), []);
  const collector = info.data?.collector_url ?? "http://127.0.0.1:8686";

  async function act(work: () => Promise<void>) {
    setFailure(null);
    try {
      await work();
      list.reload();
    } catch (err) {
      setFailure(err as Error);
    }
  }
  const showKey = (source: string, key: string | null | undefined, where = context) =>
    key && setIssued({ source, context: where, key });

  async function create(event: FormEvent) {
    event.preventDefault();
    await act(async () => {
      const made = await must(api.POST("/sources", { body: { name, type: "rest", enabled: true, channels: ["track", "collect", "segment", "redirect"] } }));
      showKey(made.id, made.write_keys.find((k) => k.key)?.key);
      setOpen(made.id);
      setName("");
    });
  }
  const toggle = (s: Source) =>
    act(async () => {
      await must(api.PUT("/sources/{entity_id}", {
        params: { path: { entity_id: s.id } },
        body: { name: s.name, type: s.type, enabled: !s.enabled, channels: s.channels as never,
          rate_limit: s.rate_limit, version: s.version },
      }));
    });
  const rotate = (s: Source, id: string) =>
    act(async () => {
      const key = await must(api.POST("/sources/{entity_id}/write-keys/rotate", {
        params: { path: { entity_id: s.id } }, body: { id } }));
      showKey(s.id, key.key);
    });
  const deploy = (s: Source) =>
    act(async () => {
      const out = await must(api.POST("/sources/{entity_id}/deploy", { params: { path: { entity_id: s.id } } }));
      showKey(s.id, out.write_keys.find((k) => k.key)?.key, "production");
    });

  return (
    <>
      <div className="toolbar">
        <h1>Sources</h1>
        <span className="muted">{context}</span>
      </div>
      {editable ? (
        <form className="inline" onSubmit={create} aria-label="new source">
          <label>
            New source
            <input value={name} onChange={(e) => setName(e.target.value)} placeholder="Web shop" required />
          </label>
          <button type="submit">Create source</button>
        </form>
      ) : (
        <p className="muted" data-testid="read-only">Your role ({session?.role}) can view sources but not change them.</p>
      )}
      {issued && (
        <div className="issued" role="status" data-testid="issued-key">
          <p>
            Write key for source <code>{issued.source}</code> in {issued.context}. It is shown <strong>this once</strong>:
            copy it now.
          </p>
          <code className="key" data-testid="write-key">{issued.key}</code> <CopyButton text={issued.key} />
          <button type="button" className="secondary" onClick={() => setIssued(null)}>Done</button>
        </div>
      )}
      <ErrorNote error={failure ?? list.error} />
      <table className="list" aria-label="sources">
        <thead>
          <tr><th>Name</th><th>Id</th><th>Channels</th><th>Write keys</th><th>Enabled</th><th /></tr>
        </thead>
        <tbody>
          {list.data?.map((s) => (
            <SourceRow key={s.id} source={s} open={open === s.id} onOpen={() => setOpen(open === s.id ? null : s.id)}
              editable={editable} deployable={deployable && context === "staging"}
              onToggle={() => void toggle(s)} onRotate={(id) => void rotate(s, id)} onDeploy={() => void deploy(s)}>
              <Snippets source={s} collector={collector} issued={issued} />
            </SourceRow>
          ))}
        </tbody>
      </table>
    </>
  );
}

function SourceRow(props: {
  source: Source; open: boolean; onOpen: () => void; editable: boolean; deployable: boolean;
  onToggle: () => void; onRotate: (id: string) => void; onDeploy: () => void; children: React.ReactNode;
}) {
  const { source: s } = props;
  return (
    <>
      <tr data-testid={`source-${s.id}`}>
        <td>{s.name || "(unnamed)"}{s.default && <span className="badge">default</span>}</td>
        <td><code>{s.id}</code></td>
        <td>{s.channels.join(", ")}</td>
        <td>
          {s.write_keys.map((k) => (
            <div key={k.id} className={k.revoked ? "revoked" : ""}>
              <code>{k.hint}</code> {k.name} {k.revoked && "(revoked)"}
              {props.editable && !k.revoked && (
                <button type="button" className="link" onClick={() => props.onRotate(k.id)}>rotate</button>
              )}
            </div>
          ))}
        </td>
        <td>
          <label className="switch">
            <input type="checkbox" checked={s.enabled} disabled={!props.editable} onChange={props.onToggle}
              aria-label={`enabled ${s.name}`} />
            {s.enabled ? "on" : "off"}
          </label>
        </td>
        <td className="actions">
          <button type="button" className="secondary" onClick={props.onOpen} aria-expanded={props.open}>
            Install
          </button>
          {props.deployable && (
            <button type="button" className="secondary" onClick={props.onDeploy}>Deploy to production</button>
          )}
        </td>
      </tr>
      {props.open && (
        <tr className="detail"><td colSpan={6}>{props.children}</td></tr>
      )}
    </>
  );
}
