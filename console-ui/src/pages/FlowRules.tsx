import { useState, type FormEvent } from "react";
import { api, ApiError, must } from "../api/client";
import { ConditionInput } from "../lib/ConditionInput";
import { useLoad } from "../lib/hooks";
import { emptyRule, ruleBody, ruleDraft, type RuleDraft } from "../lib/rules";
import { ErrorNote } from "../lib/ui";

const STAGING = { header: { "x-context": "staging" as const } };

/** The rules that start a flow: event type, condition (its errors shown where they are)
 * and consents; made and changed in staging, deployed after the flow. */
export function FlowRules({ flowId, editable, deployable }: { flowId: string; editable: boolean; deployable: boolean }) {
  const list = useLoad(() => must(api.GET("/rules", { params: STAGING })), [flowId]);
  const [draft, setDraft] = useState<RuleDraft>(emptyRule);
  const [editing, setEditing] = useState<{ id: string; version: number } | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [failure, setFailure] = useState<Error | null>(null);
  const act = async (work: () => Promise<string>) => {
    setFailure(null);
    setNote(null);
    try { setNote(await work()); list.reload(); } catch (err) { setFailure(err as Error); }
  };
  const save = (e: FormEvent) => {
    e.preventDefault();
    void act(async () => {
      const body = { flow_id: flowId, enabled: true, ...ruleBody(draft) };
      if (editing) {
        await must(api.PUT("/rules/{entity_id}", {
          params: { ...STAGING, path: { entity_id: editing.id } },
          body: { ...body, version: editing.version },
        }));
      } else {
        await must(api.POST("/rules", { params: STAGING, body }));
      }
      setDraft(emptyRule);
      setEditing(null);
      return editing ? "Rule changed in staging." : "Rule saved in staging.";
    });
  };
  const conditionError =
    failure instanceof ApiError && failure.field === "condition" && typeof (failure.body as { line?: unknown })?.line === "number"
      ? failure : null;
  const rules = (list.data ?? []).filter((r) => r.flow_id === flowId);
  return (
    <section aria-label="rules">
      <h3>Rules that start this flow</h3>
      <ul className="rules">
        {rules.map((r) => (
          <li key={r.id}>
            on <strong>{r.event_type}</strong>
            {r.condition && <> when <code>{r.condition}</code></>}
            {r.consents?.length ? ` with consent ${r.consents.join(", ")}` : ""}
            {editable && (
              <button type="button" className="link" aria-label={`edit rule on ${r.event_type}`} onClick={() => {
                setEditing({ id: r.id, version: r.version });
                setDraft(ruleDraft(r));
                setFailure(null);
              }}>edit</button>
            )}
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
        <form className="rule-form stack" onSubmit={save} aria-label={editing ? "change rule" : "new rule"}>
          <label>Event type<input value={draft.eventType} required placeholder="purchase"
            onChange={(e) => setDraft({ ...draft, eventType: e.target.value })} /></label>
          <ConditionInput label="Rule condition (optional)" value={draft.condition} error={conditionError}
            placeholder='event.properties.total > 100 and profile.traits.tier != "gold"'
            onChange={(condition) => setDraft({ ...draft, condition })} />
          <label>Consents (comma separated)<input value={draft.consents} placeholder="marketing"
            onChange={(e) => setDraft({ ...draft, consents: e.target.value })} /></label>
          <div className="row">
            <button type="submit" className="secondary">{editing ? "Save rule" : "Add rule"}</button>
            {editing && (
              <button type="button" className="link" onClick={() => { setEditing(null); setDraft(emptyRule); setFailure(null); }}>
                cancel
              </button>
            )}
          </div>
        </form>
      )}
      {note && <p className="note">{note}</p>}
      <ErrorNote error={conditionError ? null : failure ?? list.error} />
    </section>
  );
}
