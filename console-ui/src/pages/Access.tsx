import { useState, type FormEvent } from "react";
import { api, must } from "../api/client";
import { can } from "../lib/access";
import { useLoad, useSession } from "../lib/hooks";
import { Card, ConfirmButton, CopyButton, ErrorNote } from "../lib/ui";

const ROLES = ["admin", "developer", "marketer", "maintainer"] as const;
type Role = (typeof ROLES)[number];

function RoleSelect({ value, onChange, label }: { value: Role; onChange: (r: Role) => void; label: string }) {
  return (
    <select aria-label={label} value={value} onChange={(e) => onChange(e.target.value as Role)}>
      {ROLES.map((r) => <option key={r}>{r}</option>)}
    </select>
  );
}

function Users({ me }: { me: string }) {
  const list = useLoad(() => must(api.GET("/users")), []);
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState<Role>("marketer");
  const [failure, setFailure] = useState<Error | null>(null);
  const act = async (work: () => Promise<unknown>) => {
    setFailure(null);
    try { await work(); list.reload(); } catch (err) { setFailure(err as Error); }
  };
  const create = (e: FormEvent) => {
    e.preventDefault();
    void act(async () => {
      await must(api.POST("/users", { body: { email, role, password } }));
      setEmail(""); setPassword("");
    });
  };
  return (
    <Card title="Users" wide>
      <form className="inline" onSubmit={create} aria-label="new user">
        <label>Email<input type="email" value={email} onChange={(e) => setEmail(e.target.value)} required /></label>
        <label>Password (12+ characters)
          <input type="password" minLength={12} value={password} onChange={(e) => setPassword(e.target.value)} required autoComplete="new-password" />
        </label>
        <label>Role<RoleSelect label="new user's role" value={role} onChange={setRole} /></label>
        <button type="submit">Add user</button>
      </form>
      <ErrorNote error={failure ?? list.error} />
      <table aria-label="users">
        <thead><tr><th>Email</th><th>Role</th><th>Status</th><th /></tr></thead>
        <tbody>
          {list.data?.map((u) => (
            <tr key={u.id}>
              <td>{u.email}{u.email === me && <span className="badge">you</span>}</td>
              <td>
                {u.email === me ? u.role : (
                  <RoleSelect label={`role of ${u.email}`} value={u.role as Role}
                    onChange={(r) => void act(() => must(api.PATCH("/users/{user_id}", { params: { path: { user_id: u.id } }, body: { role: r } })))} />
                )}
              </td>
              <td>
                <label className="switch">
                  <input type="checkbox" checked={!u.disabled} disabled={u.email === me} aria-label={`active ${u.email}`}
                    onChange={() => void act(() => must(api.PATCH("/users/{user_id}", { params: { path: { user_id: u.id } }, body: { disabled: !u.disabled } })))} />
                  {u.disabled ? "disabled" : "active"}
                </label>
              </td>
              <td>{u.email !== me && (
                <ConfirmButton label="Delete" question={`Delete ${u.email}?`}
                  onConfirm={() => void act(() => must(api.DELETE("/users/{user_id}", { params: { path: { user_id: u.id } } })))} />
              )}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Card>
  );
}

function ApiKeys() {
  const list = useLoad(() => must(api.GET("/api-keys")), []);
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role>("marketer");
  const [issued, setIssued] = useState<string | null>(null);
  const [failure, setFailure] = useState<Error | null>(null);
  const act = async (work: () => Promise<unknown>) => {
    setFailure(null);
    try { await work(); list.reload(); } catch (err) { setFailure(err as Error); }
  };
  const create = (e: FormEvent) => {
    e.preventDefault();
    void act(async () => {
      const made = await must(api.POST("/api-keys", { body: { name, role } }));
      setIssued(made.key); setName("");
    });
  };
  return (
    <Card title="API keys" wide>
      <form className="inline" onSubmit={create} aria-label="new API key">
        <label>Name<input value={name} onChange={(e) => setName(e.target.value)} required /></label>
        <label>Role<RoleSelect label="new key's role" value={role} onChange={setRole} /></label>
        <button type="submit">Create key</button>
      </form>
      {issued && (
        <div className="issued" role="status">
          <p>The key is shown <strong>this once</strong>; send it as <code>x-api-key</code>.</p>
          <code className="key" data-testid="api-key">{issued}</code> <CopyButton text={issued} />
          <button type="button" className="secondary" onClick={() => setIssued(null)}>Done</button>
        </div>
      )}
      <ErrorNote error={failure ?? list.error} />
      <table aria-label="API keys">
        <thead><tr><th>Name</th><th>Role</th><th>Id</th><th /></tr></thead>
        <tbody>
          {list.data?.map((k) => (
            <tr key={k.id}>
              <td>{k.name}</td><td>{k.role}</td><td><code>{k.id}</code></td>
              <td><ConfirmButton label="Revoke" question={`Revoke ${k.name}?`}
                onConfirm={() => void act(() => must(api.DELETE("/api-keys/{key_id}", { params: { path: { key_id: k.id } } })))} /></td>
            </tr>
          ))}
        </tbody>
      </table>
    </Card>
  );
}

export function Access() {
  const session = useSession();
  const users = can(session?.role, "users:manage");
  const keys = can(session?.role, "keys:manage");
  return (
    <>
      <div className="toolbar"><h1>Users and API keys</h1></div>
      {!users && !keys && <p className="muted">Your role ({session?.role}) manages neither users nor keys.</p>}
      <div className="grid">
        {users && <Users me={session!.email.trim().toLowerCase()} />}
        {keys && <ApiKeys />}
      </div>
    </>
  );
}
