import { useState } from "react";
import { connectionsOf, targetsFor, type GraphEdge } from "../lib/flowGraph";
import type { ActionNode } from "./FlowNode";

/** The canvas without the mouse: pick a node, connect one of its output ports to another
 * node, remove a connection. (The palette adds a node with Enter; "Remove node" removes
 * the picked one.) */
export function FlowKeyboard({ nodes, edges, selected, editable, onSelect, onConnect, onDisconnect }: {
  nodes: ActionNode[];
  edges: GraphEdge[];
  selected: string | null;
  editable: boolean;
  onSelect: (id: string | null) => void;
  onConnect: (source: string, port: string, target: string) => void;
  onDisconnect: (edgeId: string) => void;
}) {
  const chosen = nodes.find((n) => n.id === selected);
  const outputs = chosen?.data.outputs ?? [];
  const [port, setPort] = useState("");
  const [target, setTarget] = useState("");
  const from = outputs.includes(port) ? port : outputs[0] ?? "";
  const targets = chosen
    ? targetsFor(nodes.map((n) => ({ id: n.id, hasInput: n.data.inputs.length > 0 })), edges, chosen.id, from)
    : [];
  const allowed = targets.filter((t) => !t.refused);
  const to = allowed.some((t) => t.id === target) ? target : allowed[0]?.id ?? "";
  return (
    <section aria-label="nodes and connections" className="stack">
      <label htmlFor="kbd-node">Selected node</label>
      <select id="kbd-node" value={selected ?? ""} onChange={(e) => onSelect(e.target.value || null)}>
        <option value="">—</option>
        {nodes.map((n) => <option key={n.id} value={n.id}>{n.id} ({n.data.action})</option>)}
      </select>
      {chosen && editable && outputs.length > 0 && (
        <div className="row connect">
          <label htmlFor="kbd-port">from port</label>
          <select id="kbd-port" value={from} onChange={(e) => setPort(e.target.value)}>
            {outputs.map((p) => <option key={p}>{p}</option>)}
          </select>
          <label htmlFor="kbd-target">to node</label>
          <select id="kbd-target" value={to} onChange={(e) => setTarget(e.target.value)}>
            {!to && <option value="">none possible</option>}
            {targets.map((t) => (
              <option key={t.id} value={t.id} disabled={!!t.refused}>{t.id}{t.refused ? ` (${t.refused})` : ""}</option>
            ))}
          </select>
          <button type="button" className="secondary" disabled={!to} onClick={() => onConnect(chosen.id, from, to)}>Connect</button>
        </div>
      )}
      {chosen && (
        <ul className="connections" aria-label="connections">
          {connectionsOf(edges, chosen.id).map(({ edge, text }) => (
            <li key={edge.id}>
              {text}
              {editable && (
                <button type="button" className="link" aria-label={`disconnect ${text}`} onClick={() => onDisconnect(edge.id)}>
                  disconnect
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
