import { useState, type FormEvent } from "react";
import { ApiError, logIn } from "../api/client";

export function Login() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [tenants, setTenants] = useState<string[]>([]);
  const [tenant, setTenant] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await logIn(email, password, tenant || undefined);
    } catch (err) {
      const body = err instanceof ApiError ? (err.body as { tenants?: string[] }) : null;
      if (err instanceof ApiError && err.status === 409 && body?.tenants) {
        setTenants(body.tenants);
        setTenant(body.tenants[0] ?? "");
        setError("This email belongs to several tenants: choose one.");
      } else {
        setError(err instanceof Error ? err.message : String(err));
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="login">
      <form onSubmit={submit} aria-label="log in">
        <h1>Headwater</h1>
        <label>
          Email
          <input type="email" autoComplete="username" value={email} required autoFocus
            onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label>
          Password
          <input type="password" autoComplete="current-password" value={password} required
            onChange={(e) => setPassword(e.target.value)} />
        </label>
        {tenants.length > 0 && (
          <label>
            Tenant
            <select value={tenant} onChange={(e) => setTenant(e.target.value)}>
              {tenants.map((t) => (
                <option key={t}>{t}</option>
              ))}
            </select>
          </label>
        )}
        {error && <p className="error" role="alert">{error}</p>}
        <button type="submit" disabled={busy}>
          {busy ? "Logging in…" : "Log in"}
        </button>
      </form>
    </main>
  );
}
