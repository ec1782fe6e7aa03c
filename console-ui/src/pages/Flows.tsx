import {
  addEdge, Background, Controls, ReactFlow, ReactFlowProvider, useEdgesState, useNodesState, useReactFlow,
  type Connection, type Edge,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { useCallback, useMemo, useState, type DragEvent } from "react";
import { api, must, type Schemas } from "../api/client";
import { can } from "../lib/access";
import {
  edgeId, fromStored, newNodeId, outputPorts, palette, refusal, toStored, type ActionInfo, type GraphEdge, type GraphNode,
} from "../lib/flowGraph";
import { useLoad, useSession } from "../lib/hooks";
import { SchemaForm } from "../lib/SchemaForm";
import { problemsOf } from "../lib/schemaForm";
import { ErrorNote } from "../lib/ui";
import { FlowNode, type ActionNode, type NodeTrace } from "./FlowNode";
import { FlowHistory } from "./FlowHistory";
import { FlowKeyboard } from "./FlowKeyboard";
import { FlowRules } from "./FlowRules";

const STAGING = { header: { "x-context": "staging" as const } };
const DRAG_TYPE = "application/x-headwater-action";
const SAMPLE_EVENT = `{"type": "purchase", "properties": {"total": 120}}`;
const nodeTypes = { action: FlowNode };

type Flow = Schemas["FlowOut"];
type DebugAnswer = { valid: boolean; problems?: string[]; result?: { trace: (NodeTrace & { node_id: string })[]; requests: unknown[] } };

function toCanvas(nodes: GraphNode[], actions: Map<string, ActionInfo>): ActionNode[] {
  return nodes.map((n) => {
    const info = actions.get(n.action);
    return {
      id: n.id, type: "action", position: n.position,
      data: { action: n.action, config: n.config, family: info?.family ?? "flow",
        inputs: info?.inputs ?? ["payload"], outputs: outputPorts(info, n.config) },
    };
  });
}
const toEdges = (edges: GraphEdge[]): Edge[] =>
  edges.map((e) => ({ id: e.id, source: e.source, sourceHandle: e.sourcePort, target: e.target, targetHandle: e.targetPort }));
const fromEdges = (edges: Edge[]): GraphEdge[] =>
  edges.map((e) => ({ id: e.id, source: e.source, sourcePort: e.sourceHandle ?? "payload", target: e.target, targetPort: e.targetHandle ?? "payload" }));
const fromCanvas = (nodes: ActionNode[]): GraphNode[] =>
  nodes.map((n) => ({ id: n.id, action: n.data.action, config: n.data.config, position: n.position }));

function Palette({ actions, onAdd, disabled }: { actions: ActionInfo[]; onAdd: (a: ActionInfo) => void; disabled: boolean }) {
  const [search, setSearch] = useState("");
  return (
    <aside className="palette" aria-label="actions">
      <input type="search" placeholder="Search actions" aria-label="search actions" value={search}
        onChange={(e) => setSearch(e.target.value)} />
      {palette(actions, search).map(([family, items]) => (
        <section key={family}>
          <h3>{family}</h3>
          {items.map((a) => (
            <button key={a.name} type="button" className="palette-item" draggable={!disabled} disabled={disabled}
              title={a.description} data-testid={`palette-${a.name}`}
              onDragStart={(e) => { e.dataTransfer.setData(DRAG_TYPE, a.name); e.dataTransfer.effectAllowed = "move"; }}
              onClick={() => onAdd(a)}>
              {a.name}
            </button>
          ))}
        </section>
      ))}
    </aside>
  );
}

function Editor({ flow, actions, onSaved, onRestored }: {
  flow: Flow | null; actions: ActionInfo[]; onSaved: (f: Flow) => void; onRestored: (f: Flow) => void;
}) {
  const session = useSession();
  const editable = can(session?.role, "config:write");
  const deployable = can(session?.role, "config:deploy");
  const byName = useMemo(() => new Map(actions.map((a) => [a.name, a])), [actions]);
  const initial = useMemo(() => {
    const stored = flow ? fromStored(flow.nodes as never, flow.edges as never) : fromStored([{ id: "start", action: "start" }], []);
    return { nodes: toCanvas(stored.nodes, byName), edges: toEdges(stored.edges) };
  }, [flow, byName]);
  const [nodes, setNodes, onNodesChange] = useNodesState<ActionNode>(initial.nodes);
  const [edges, setEdges, onEdgesChange] = useEdgesState<Edge>(initial.edges);
  const [name, setName] = useState(flow?.name ?? "");
  const [selected, setSelected] = useState<string | null>(null);
  const [event, setEvent] = useState(SAMPLE_EVENT);
  const [note, setNote] = useState<string | null>(null);
  const [failure, setFailure] = useState<Error | null>(null);
  const [current, setCurrent] = useState<Flow | null>(flow);
  const { screenToFlowPosition, fitView } = useReactFlow();

  const add = useCallback((action: ActionInfo, position?: { x: number; y: number }) => {
    const id = newNodeId(action.name, nodes.map((n) => n.id));
    setNodes((ns) => {
      // with the keyboard (no drop point): right of the rightmost node, rows staggered
      const at = position ?? { x: Math.max(0, ...ns.map((n) => n.position.x)) + 220, y: 40 + (ns.length % 4) * 100 };
      return [...ns.map((n) => ({ ...n, selected: false })), ...toCanvas([{ id, action: action.name, config: {}, position: at }], byName)
        .map((n) => ({ ...n, selected: true }))];
    });
    setSelected(id); // the new node's settings open, also when added with the keyboard
    if (!position) window.setTimeout(() => void fitView({ maxZoom: 1 }), 50); // keep it in view
  }, [byName, fitView, nodes, setNodes]);

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    const action = byName.get(e.dataTransfer.getData(DRAG_TYPE));
    if (action) add(action, screenToFlowPosition({ x: e.clientX, y: e.clientY }));
  };
  const onConnect = (c: Connection) => {
    const candidate = { source: c.source, sourcePort: c.sourceHandle ?? "payload", target: c.target, targetPort: c.targetHandle ?? "payload" };
    const why = refusal(fromEdges(edges), candidate);
    if (why) { setNote(`Not connected: ${why}.`); return; }
    setNote(null);
    setEdges((es) => addEdge({ ...c, id: edgeId(candidate) }, es));
  };
  const select = (id: string | null) => {
    setSelected(id);
    setNodes((ns) => ns.map((n) => ({ ...n, selected: n.id === id })));
  };
  const chosen = nodes.find((n) => n.id === selected);
  const setConfig = (config: Record<string, unknown>) =>
    setNodes((ns) => ns.map((n) => n.id === selected
      ? { ...n, data: { ...n.data, config, outputs: outputPorts(byName.get(n.data.action), config), trace: undefined } } : n));
  const body = () => ({ name, ...toStored(fromCanvas(nodes), fromEdges(edges)) });
  const invalid = nodes.filter((n) => Object.keys(problemsOf(byName.get(n.data.action)?.config_schema ?? {}, n.data.config)).length);

  async function run(work: () => Promise<void>) {
    setFailure(null); setNote(null);
    try { await work(); } catch (err) { setFailure(err as Error); }
  }
  const save = () => run(async () => {
    const saved = current
      ? await must(api.PUT("/flows/{entity_id}", { params: { ...STAGING, path: { entity_id: current.id } }, body: { ...body(), version: current.version } as never }))
      : await must(api.POST("/flows", { params: STAGING, body: body() as never }));
    setCurrent(saved); onSaved(saved);
    setNote(`Saved draft version ${saved.version} in staging.`);
  });
  const debug = () => run(async () => {
    const answer = (await must(api.POST("/flows/debug", { body: { flow: body(), event: JSON.parse(event) } }))) as DebugAnswer;
    if (!answer.valid) throw new Error((answer.problems ?? []).join("; "));
    const traces = new Map((answer.result?.trace ?? []).map((t) => [t.node_id, t]));
    setNodes((ns) => ns.map((n) => ({ ...n, data: { ...n.data, trace: traces.get(n.id) ?? null } })));
    setNote(`Debug run: ${traces.size} node(s) ran, ${answer.result?.requests.length ?? 0} outbound request(s) prepared (none sent).`);
  });
  const deploy = () => run(async () => {
    if (!current) throw new Error("save the flow first");
    const live = await must(api.POST("/flows/{entity_id}/deploy", { params: { path: { entity_id: current.id } } }));
    setNote(`Deployed to production as version ${live.version}.`);
  });
  const rollback = () => run(async () => {
    if (!current) return;
    const live = await must(api.POST("/flows/{entity_id}/rollback", { params: { path: { entity_id: current.id } } }));
    setNote(`Production rolled back: now version ${live.version}.`);
  });
  const removeSelected = () => {
    setNodes((ns) => ns.filter((n) => n.id !== selected));
    setEdges((es) => es.filter((e) => e.source !== selected && e.target !== selected));
    setSelected(null);
  };

  return (
    <div className="flow-editor">
      <Palette actions={actions} onAdd={(a) => add(a)} disabled={!editable} />
      <div className="canvas" onDragOver={(e) => { e.preventDefault(); e.dataTransfer.dropEffect = "move"; }} onDrop={onDrop}
        aria-label="flow canvas">
        <ReactFlow nodes={nodes} edges={edges} nodeTypes={nodeTypes} onNodesChange={onNodesChange}
          onEdgesChange={onEdgesChange} onConnect={onConnect} nodesConnectable={editable} nodesDraggable={editable}
          onSelectionChange={({ nodes: picked }) => setSelected(picked[0]?.id ?? null)}
          deleteKeyCode={editable ? ["Delete", "Backspace"] : null} fitView fitViewOptions={{ maxZoom: 1 }}>
          <Background />
          <Controls />
        </ReactFlow>
      </div>
      <aside className="inspector" aria-label="flow settings">
        <label>Flow name<input value={name} onChange={(e) => setName(e.target.value)} disabled={!editable} /></label>
        <p className="muted">
          {current ? <>Id <code data-testid="flow-id">{current.id}</code>, staging version {current.version}</> : "Not saved yet."}
        </p>
        <div className="buttons">
          {editable && <button type="button" onClick={() => void save()}>Save draft</button>}
          {editable && <button type="button" className="secondary" onClick={() => void debug()}>Debug run</button>}
          {deployable && <button type="button" className="secondary" disabled={!current} onClick={() => void deploy()}>Deploy to production</button>}
          {deployable && <button type="button" className="secondary" disabled={!current} onClick={() => void rollback()}>Roll back production</button>}
        </div>
        {invalid.length > 0 && <p className="error">Settings to fix: {invalid.map((n) => n.id).join(", ")}</p>}
        {note && <p className="note" role="status" data-testid="flow-note">{note}</p>}
        <ErrorNote error={failure} />
        <FlowKeyboard nodes={nodes} edges={fromEdges(edges)} selected={selected} editable={editable} onSelect={select}
          onConnect={(source, port, target) => onConnect({ source, sourceHandle: port, target, targetHandle: "payload" })}
          onDisconnect={(id) => setEdges((es) => es.filter((e) => e.id !== id))} />
        {chosen ? (
          <section aria-label="node settings">
            <h3>{chosen.id} <small className="muted">({chosen.data.action})</small></h3>
            <p className="muted">{byName.get(chosen.data.action)?.description}</p>
            <SchemaForm key={chosen.id} schema={byName.get(chosen.data.action)?.config_schema ?? {}}
              value={chosen.data.config} onChange={setConfig} disabled={!editable} />
            {chosen.data.trace && (
              <details open><summary>Last debug run</summary><pre className="json">{JSON.stringify(chosen.data.trace, null, 2)}</pre></details>
            )}
            {editable && <button type="button" className="danger" onClick={removeSelected}>Remove node</button>}
          </section>
        ) : <p className="muted">Select a node to edit its settings.</p>}
        {current && <FlowRules flowId={current.id} editable={editable} deployable={deployable} />}
        {current && <FlowHistory flow={current} editable={editable} onRestored={onRestored} />}
        <label>Sample event for the debug run
          <textarea rows={4} value={event} onChange={(e) => setEvent(e.target.value)} spellCheck={false} />
        </label>
      </aside>
    </div>
  );
}

export function Flows() {
  const list = useLoad(() => must(api.GET("/flows", { params: STAGING })), []);
  const actions = useLoad(() => must(api.GET("/actions")), []);
  const [open, setOpen] = useState<{ flow: Flow | null; key: number; restored?: boolean } | null>(null);
  return (
    <>
      <div className="toolbar">
        <h1>Flows</h1>
        <span className="muted">Edited in staging; deploy copies a flow to production.</span>
        <button type="button" onClick={() => setOpen({ flow: null, key: Date.now() })}>New flow</button>
        <select aria-label="open flow" value="" onChange={(e) => {
          const flow = list.data?.find((f) => f.id === e.target.value);
          if (flow) setOpen({ flow, key: Date.now() });
        }}>
          <option value="">Open a flow…</option>
          {list.data?.map((f) => <option key={f.id} value={f.id}>{f.name || f.id} (v{f.version})</option>)}
        </select>
      </div>
      <ErrorNote error={list.error ?? actions.error} />
      {open?.restored && open.flow && (
        <p className="ok" role="status" data-testid="restored">
          Restored as staging version {open.flow.version}; deploy it to put it in production.
        </p>
      )}
      {open && actions.data && (
        <ReactFlowProvider key={open.key}>
          <Editor flow={open.flow} actions={actions.data as ActionInfo[]} onSaved={() => list.reload()}
            onRestored={(flow) => { list.reload(); setOpen({ flow, key: Date.now(), restored: true }); }} />
        </ReactFlowProvider>
      )}
    </>
  );
}
