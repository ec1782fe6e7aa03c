// Tenants (TMS): for whoever holds the operator's TMS key (HEADWATER_TMS_KEY). The key
// is asked for here and kept in this page's memory only (never stored); every call
// sends it as x-tms-key, and the API refuses a wrong one.
import { useState, type FormEvent } from "react";
import { api, must, type Schemas } from "../api/client";
import { ConfirmButton, ErrorNote, when } from "../lib/ui";

type Tenant = Schemas["TenantOut"];

export function Tenants() {
  const [key, setKey] = useState("");
  const [tenants, setTenants] = useState<Tenant[] | null>(null);
  const [draft, setDraft] = useState({ id: "", name: "", admin_email: "", admin_password: "" });
  const [note, setNote] = useState<string | null>(null);
  const [failure, setFailure] = useState<Error | null>(null);
  const headers = { "x-tms-key": key };

  async function run(label: string | null, work: () => Promise<unknown>) {
    setFailure(null);
    setNote(null);
    try {
      await work();
      setTenants(await must(api.GET("/tenants", { headers })));
      if (label) setNote(label);
    } catch (err) {
      setFailure(err as Error);
    }
  }
  function open(event: FormEvent) {
    event.preventDefault();
    void run(null, async () => undefined);
  }
  function create(event: FormEvent) {
    event.preventDefault();
    void run(`Tenant ${draft.id} created`, () => must(api.POST("/tenants", { headers, body: draft })));
  }
  const path = (tenant_id: string) => ({ params: { path: { tenant_id } }, headers });
  return (
    <>
      <div className="toolbar">
        <h1>Tenants</h1>
        <span className="muted">For the operator: needs the TMS key.</span>
      </div>
      <form className="inline" onSubmit={open} aria-label="operator access">
        <label>
          TMS key
          <input type="password" autoComplete="off" value={key} onChange={(e) => setKey(e.target.value)} />
        </label>
        <button type="submit" disabled={!key}>Open</button>
      </form>
      <ErrorNote error={failure} />
      {note && <p className="ok" role="status">{note}</p>}
      {tenants && (
        <>
          <table className="list" aria-label="tenants">
            <thead>
              <tr><th>Id</th><th>Name</th><th>Status</th><th>Changed</th><th>Actions</th></tr>
            </thead>
            <tbody>
              {tenants.map((t) => (
                <tr key={t.id}>
                  <td><code>{t.id}</code></td>
                  <td>{t.name}</td>
                  <td>{t.status === "active" ? "active" : <span className="badge warn">suspended</span>}</td>
                  <td>{when(t.updated_at)}</td>
                  <td>
                    {t.status === "active" ? (
                      <ConfirmButton label={`suspend ${t.id}`} question={`Refuse all of ${t.id}'s traffic?`}
                        onConfirm={() => void run(`${t.id} suspended`, () => must(api.POST("/tenants/{tenant_id}/suspend", path(t.id))))} />
                    ) : (
                      <button type="button" className="secondary" onClick={() => void run(`${t.id} resumed`, () => must(api.POST("/tenants/{tenant_id}/resume", path(t.id))))}>resume {t.id}</button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <form className="card stack" onSubmit={create} aria-label="new tenant">
            <h2>New tenant</h2>
            {(["id", "name", "admin_email", "admin_password"] as const).map((field) => (
              <label key={field}>
                {field.replace("_", " ")}
                <input
                  type={field === "admin_password" ? "password" : "text"}
                  value={draft[field]}
                  onChange={(e) => setDraft({ ...draft, [field]: e.target.value })}
                />
              </label>
            ))}
            <div className="row"><button type="submit">Create tenant</button></div>
          </form>
        </>
      )}
    </>
  );
}
