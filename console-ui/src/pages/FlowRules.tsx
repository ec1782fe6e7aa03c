import { useState, type FormEvent } from "react";
import { api, must } from "../api/client";
import { useLoad } from "../lib/hooks";
import { ErrorNote } from "../lib/ui";

const STAGING = { header: { "x-context": "staging" as const } };

/** The rules that start a flow: made in staging, deployed after the flow. */
export function FlowRules({ flowId, editable, deployable }: { flowId: string; editable: boolean; deployable: boolean }) {
  const list = useLoad(() => must(api.GET("/rules", { params: STAGING })), [flowId]);
  const [eventType, setEventType] = useState("");
  const [note, setNote] = useState<string | null>(null);
  const [failure, setFailure] = useState<Error | null>(null);
  const act = async (work: () => Promise<string>) => {
    setFailure(null);
    try { setNote(await work()); list.reload(); } catch (err) { setFailure(err as Error); }
  };
  const add = (e: FormEvent) => {
    e.preventDefault();
    void act(async () => {
      await must(api.POST("/rules", { params: STAGING, body: { flow_id: flowId, event_type: eventType, enabled: true } }));
      setEventType("");
      return "Rule saved in staging.";
    });
  };
  const rules = (list.data ?? []).filter((r) => r.flow_id === flowId);
  return (
    <section aria-label="rules">
      <h3>Rules that start this flow</h3>
      <ul className="rules">
        {rules.map((r) => (
          <li key={r.id}>
            on <strong>{r.event_type}</strong>{r.condition ? ` when ${r.condition}` : ""}
            {deployable && (
              <button type="button" className="link" onClick={() => void act(async () => {
                const live = await must(api.POST("/rules/{entity_id}/deploy", { params: { path: { entity_id: r.id } } }));
                return `Rule deployed to production (version ${live.version}).`;
              })}>deploy</button>
            )}
          </li>
        ))}
        {rules.length === 0 && <li className="muted">None: the flow runs on no event yet.</li>}
      </ul>
      {editable && (
        <form className="rule-form" onSubmit={add} aria-label="new rule">
          <label>Event type<input value={eventType} onChange={(e) => setEventType(e.target.value)} required placeholder="purchase" /></label>
          <button type="submit" className="secondary">Add rule</button>
        </form>
      )}
      {note && <p className="note">{note}</p>}
      <ErrorNote error={failure ?? list.error} />
    </section>
  );
}
