import { Fragment, useState } from "react";
import { Link } from "react-router";
import { api, must } from "../api/client";
import { useLoad } from "../lib/hooks";
import { readablePayload } from "../lib/operations";
import { Card, ErrorNote, when } from "../lib/ui";

// Where the context's flows send (a flow node names its target: there is no separate
// destination entity), and the tenant's dead letters of the context, newest first.
export function Destinations() {
  const destinations = useLoad(() => must(api.GET("/destinations")), []);
  const letters = useLoad(
    () => must(api.GET("/dead-letters", { params: { query: { size: 100 } } })),
    [],
    10_000,
  );
  const [open, setOpen] = useState<number | null>(null);
  const toggle = (index: number) => setOpen(open === index ? null : index);
  return (
    <>
      <div className="toolbar">
        <h1>Destinations</h1>
        <button type="button" className="secondary" onClick={() => { destinations.reload(); letters.reload(); }}>
          Refresh
        </button>
      </div>
      <Card title="Destinations" wide>
        <ErrorNote error={destinations.error} />
        {destinations.data?.length === 0 && (
          <p className="muted">No flow of this context sends anywhere yet.</p>
        )}
        {!!destinations.data?.length && (
          <table className="list" aria-label="destinations">
            <thead>
              <tr><th>Kind</th><th>Target</th><th>Used by</th></tr>
            </thead>
            <tbody>
              {destinations.data.map((d) => (
                <tr key={`${d.kind} ${d.target}`}>
                  <td>{d.kind}</td>
                  <td><code>{d.target}</code></td>
                  <td>
                    {d.used_by.map((u) => (
                      <span key={`${u.flow_id}/${u.node_id}`} className="use">
                        <Link to="/flows">{u.flow_name || u.flow_id}</Link> · {u.node_id} ({u.action})
                      </span>
                    ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
      <Card title="Dead letters" wide>
        <ErrorNote error={letters.error} />
        {letters.data && (
          <p className="muted" data-testid="dead-letter-total">
            {letters.data.total} dead letter{letters.data.total === 1 ? "" : "s"} in {letters.data.context}
            {letters.data.total > letters.data.dead_letters.length &&
              ` (the newest ${letters.data.dead_letters.length} shown)`}
          </p>
        )}
        {!!letters.data?.dead_letters.length && (
          <table className="list" aria-label="dead letters">
            <thead>
              <tr><th>Failed</th><th>Stage</th><th>Reason</th><th>Attempts</th><th>From</th></tr>
            </thead>
            <tbody>
              {letters.data.dead_letters.map((d, index) => (
                <Fragment key={`${d.topic}/${d.partition}/${d.offset}/${index}`}>
                  <tr className="clickable" tabIndex={0} aria-expanded={open === index}
                    onClick={() => toggle(index)} onKeyDown={(e) => e.key === "Enter" && toggle(index)}>
                    <td>{when(d.failed_at)}</td>
                    <td>{d.stage}</td>
                    <td className="reason">{d.reason}</td>
                    <td className="num">{d.attempts}</td>
                    <td><code>{d.topic}[{d.partition ?? "?"}]@{d.offset ?? "?"}</code></td>
                  </tr>
                  {open === index && (
                    <tr className="detail">
                      <td colSpan={5}>
                        <pre className="json" aria-label="payload">{readablePayload(d.payload)}</pre>
                      </td>
                    </tr>
                  )}
                </Fragment>
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </>
  );
}
