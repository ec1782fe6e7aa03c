import { NavLink, Navigate, Route, Routes } from "react-router";
import { logOut, setContext } from "./api/client";
import { useContextName, useSession } from "./lib/hooks";
import { Access } from "./pages/Access";
import { Config } from "./pages/Config";
import { Tenants } from "./pages/Tenants";
import { can } from "./lib/access";
import { Dashboard } from "./pages/Dashboard";
import { Destinations } from "./pages/Destinations";
import { Events } from "./pages/Events";
import { Flows } from "./pages/Flows";
import { Login } from "./pages/Login";
import { Profile } from "./pages/Profile";
import { Profiles } from "./pages/Profiles";
import { Segments } from "./pages/Segments";
import { Sources } from "./pages/Sources";

const SCREENS = [
  ["/", "Dashboard"],
  ["/profiles", "Profiles"],
  ["/events", "Events"],
  ["/sessions", "Sessions"],
  ["/sources", "Sources"],
  ["/segments", "Segments"],
  ["/flows", "Flows"],
  ["/config", "Data settings"],
  ["/destinations", "Destinations"],
] as const;

function ContextSwitch() {
  const context = useContextName();
  return (
    <div className={`context-switch ${context}`} role="radiogroup" aria-label="context">
      {(["staging", "production"] as const).map((name) => (
        <button
          key={name}
          type="button"
          role="radio"
          aria-checked={context === name}
          className={context === name ? "on" : ""}
          onClick={() => setContext(name)}
        >
          {name}
        </button>
      ))}
    </div>
  );
}

function Header() {
  const session = useSession()!;
  return (
    <header className="top">
      <span className="brand">Headwater</span>
      <span className="tenant" title="tenant">
        {session.tenant}
      </span>
      <nav aria-label="screens">
        {SCREENS.map(([to, label]) => (
          <NavLink key={to} to={to} end={to === "/"}>
            {label}
          </NavLink>
        ))}
        {(can(session.role, "users:manage") || can(session.role, "keys:manage")) && (
          <NavLink to="/access">Access</NavLink>
        )}
        {session.role === "admin" && <NavLink to="/tenants">Tenants</NavLink>}
      </nav>
      <ContextSwitch />
      <details className="user-menu">
        <summary aria-label="user menu">{session.email}</summary>
        <div className="menu">
          <p>
            Role: <strong data-testid="role">{session.role}</strong>
          </p>
          <p>Tenant: {session.tenant}</p>
          <button type="button" onClick={() => void logOut()}>
            Log out
          </button>
        </div>
      </details>
    </header>
  );
}

export function App() {
  const session = useSession();
  const context = useContextName();
  if (!session) return <Login />;
  return (
    <div className={`shell ctx-${context}`}>
      <Header />
      {context === "production" && (
        <div className="prod-banner" role="status">
          Production: changes here are live.
        </div>
      )}
      <main className="content">
        <Routes>
          <Route path="/" element={<Dashboard />} />
          <Route path="/profiles" element={<Profiles />} />
          <Route path="/profiles/:id" element={<Profile />} />
          <Route path="/events" element={<Events kind="events" />} />
          <Route path="/sessions" element={<Events kind="sessions" />} />
          <Route path="/sources" element={<Sources />} />
          <Route path="/segments" element={<Segments />} />
          <Route path="/flows" element={<Flows />} />
          <Route path="/access" element={<Access />} />
          <Route path="/config" element={<Config />} />
          <Route path="/destinations" element={<Destinations />} />
          <Route path="/tenants" element={<Tenants />} />
          <Route path="*" element={<Navigate to="/" replace />} />
        </Routes>
      </main>
    </div>
  );
}
