// A flow's versions in staging (from the API's history, newest first) and "restore":
// the chosen version's nodes and edges saved as a new staging version, then opened on
// the canvas. Deploy puts it in production, so production can go back to any version.
import { useState } from "react";
import { api, must, type Schemas } from "../api/client";
import { ErrorNote, when } from "../lib/ui";

type Flow = Schemas["FlowOut"];
type Version = Schemas["VersionOut"];
const STAGING = { header: { "x-context": "staging" as const } };

export function FlowHistory({ flow, editable, onRestored }: { flow: Flow; editable: boolean; onRestored: (f: Flow) => void }) {
  const [versions, setVersions] = useState<Version[] | null>(null);
  const [failure, setFailure] = useState<Error | null>(null);

  async function run(work: () => Promise<void>) {
    setFailure(null);
    try { await work(); } catch (err) { setFailure(err as Error); }
  }
  const load = () => run(async () => {
    setVersions(await must(api.GET("/history/{kind}/{entity_id}", { params: { ...STAGING, path: { kind: "flows", entity_id: flow.id } } })));
  });
  const restore = (old: Version) => run(async () => {
    const body = { ...old.data, version: flow.version };
    const saved = await must(api.PUT("/flows/{entity_id}", { params: { ...STAGING, path: { entity_id: flow.id } }, body: body as never }));
    onRestored(saved);
  });
  return (
    <section aria-label="versions">
      <h3>Versions</h3>
      <button type="button" className="secondary" onClick={() => void load()}>{versions ? "Refresh versions" : "Show versions"}</button>
      <ErrorNote error={failure} />
      {versions && (
        <ol className="versions" aria-label="flow versions">
          {versions.map((v) => (
            <li key={v.version}>
              <strong>v{v.version}</strong> {when(v.updated_at)} by {v.updated_by}
              {v.deleted && <span className="badge warn">deleted</span>}
              {editable && !v.deleted && v.version !== flow.version && (
                <button type="button" className="link" onClick={() => void restore(v)}>restore v{v.version}</button>
              )}
              {v.version === flow.version && <span className="badge">current</span>}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
