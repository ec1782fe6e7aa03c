import { useState } from "react";
import { Link } from "react-router";
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { api, must } from "../api/client";
import { useLoad } from "../lib/hooks";
import { lagByTopic } from "../lib/operations";
import { Card, ErrorNote } from "../lib/ui";

type Window = "hour" | "day";

const clock = (iso: string) =>
  new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

function Counts({ rows, label }: { rows: { key: string; count: number }[]; label: string }) {
  if (rows.length === 0) return <p className="muted">No events in this window.</p>;
  return (
    <table aria-label={label}>
      <tbody>
        {rows.map((row) => (
          <tr key={row.key}>
            <td>{row.key}</td>
            <td className="num">{row.count}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

// The worker's lag per partition (GET /workers/lag), grouped by topic.
function WorkerLag() {
  const { data, error } = useLoad(() => must(api.GET("/workers/lag")), [], 10_000);
  return (
    <Card title="Worker lag" wide>
      <ErrorNote error={error} />
      {data && (
        <>
          <p className="muted" data-testid="lag-total">
            {data.lag} record{data.lag === 1 ? "" : "s"} not yet processed by <code>{data.group}</code>
          </p>
          <table aria-label="worker lag">
            <thead>
              <tr><th>Topic</th><th className="num">Lag</th><th>Per partition (partition: lag)</th></tr>
            </thead>
            <tbody>
              {lagByTopic(data.partitions).map((t) => (
                <tr key={t.topic}>
                  <td><code>{t.topic}</code></td>
                  <td className="num">{t.lag}</td>
                  <td>
                    <div className="lag-parts">
                      {t.partitions.map((p) => (
                        <span key={p.partition} className={p.lag ? "behind" : ""}
                          title={`committed ${p.committed ?? "never"}, end ${p.end}`}>
                          {p.partition}: {p.lag}
                        </span>
                      ))}
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </Card>
  );
}

export function Dashboard() {
  const [window, setWindow] = useState<Window>("hour");
  const { data, error } = useLoad(
    () => must(api.GET("/dashboard", { params: { query: { window } } })),
    [window],
    10_000,
  );
  const dead = useLoad(() => must(api.GET("/dead-letters", { params: { query: { size: 0 } } })), [], 10_000);
  return (
    <>
      <div className="toolbar">
        <h1>Dashboard</h1>
        <div role="radiogroup" aria-label="window" className="segmented">
          {(["hour", "day"] as const).map((w) => (
            <button key={w} type="button" role="radio" aria-checked={window === w}
              className={window === w ? "on" : ""} onClick={() => setWindow(w)}>
              Last {w}
            </button>
          ))}
        </div>
      </div>
      <ErrorNote error={error} />
      {data && (
        <div className="grid">
          <div className="kpis wide">
            <div className="kpi" data-testid="kpi-events">
              <span>{data.events}</span>events this {window}
            </div>
            <div className="kpi" data-testid="kpi-invalid">
              <span className={data.invalid ? "warn" : ""}>{data.invalid}</span>invalid
            </div>
            <div className="kpi" data-testid="kpi-profiles">
              <span>{data.profiles}</span>profiles
            </div>
            <div className="kpi" data-testid="kpi-sessions">
              <span>{data.sessions}</span>sessions
            </div>
            <Link className="kpi" to="/destinations" data-testid="kpi-dead-letters">
              <span className={dead.data?.total ? "warn" : ""}>{dead.data?.total ?? "…"}</span>dead letters
            </Link>
          </div>
          <Card title={`Events per ${data.bucket_minutes === 1 ? "minute" : `${data.bucket_minutes} minutes`}`} wide>
            <div className="chart">
              <ResponsiveContainer width="100%" height={220}>
                <BarChart data={data.over_time}>
                  <CartesianGrid strokeDasharray="3 3" vertical={false} />
                  <XAxis dataKey="key" tickFormatter={clock} minTickGap={24} />
                  <YAxis allowDecimals={false} width={40} />
                  <Tooltip labelFormatter={(v) => clock(String(v))} />
                  <Bar dataKey="count" name="events" fill="#2563eb" isAnimationActive={false} />
                </BarChart>
              </ResponsiveContainer>
            </div>
          </Card>
          <Card title="Events by type">
            <Counts rows={data.by_type} label="events by type" />
          </Card>
          <Card title="Events by source">
            <Counts rows={data.by_source} label="events by source" />
          </Card>
          <WorkerLag />
        </div>
      )}
    </>
  );
}
