// The flow editor's graph logic, apart from React Flow's view: the stored flow form
// (docs/flows.md: nodes {id, action, config}, edges {from: "node[:port]", to: "node[:port]"})
// to and from the canvas, ids for new nodes, which connections are allowed, and the
// ports of a node.

export interface ActionInfo {
  name: string;
  family: string;
  description: string;
  config_schema: Record<string, unknown>;
  inputs: string[];
  outputs: string[];
  side_effects: boolean;
}

export interface Position {
  x: number;
  y: number;
}

export interface StoredNode {
  id: string;
  action: string;
  config?: Record<string, unknown>;
  name?: string;
  position?: Position;
}

export interface StoredEdge {
  from: string;
  to: string;
}

export interface GraphNode {
  id: string;
  action: string;
  config: Record<string, unknown>;
  position: Position;
}

export interface GraphEdge {
  id: string;
  source: string;
  sourcePort: string;
  target: string;
  targetPort: string;
}

const DEFAULT_PORT = "payload";

/** "node" or "node:port" (node ids never hold ':'). */
export function splitEnd(end: string): [string, string] {
  const at = end.indexOf(":");
  return at < 0 ? [end, DEFAULT_PORT] : [end.slice(0, at), end.slice(at + 1)];
}

const joinEnd = (node: string, port: string) => (port === DEFAULT_PORT ? node : `${node}:${port}`);

export const edgeId = (e: Omit<GraphEdge, "id">) =>
  `${joinEnd(e.source, e.sourcePort)}->${joinEnd(e.target, e.targetPort)}`;

/** The stored flow on the canvas; nodes without a position are laid out left to right. */
export function fromStored(nodes: StoredNode[], edges: StoredEdge[]): { nodes: GraphNode[]; edges: GraphEdge[] } {
  return {
    nodes: nodes.map((n, i) => ({
      id: n.id,
      action: n.action,
      config: n.config ?? {},
      position: n.position ?? { x: 40 + i * 240, y: 80 + (i % 2) * 60 },
    })),
    edges: edges.map((e) => {
      const [source, sourcePort] = splitEnd(e.from);
      const [target, targetPort] = splitEnd(e.to);
      const edge = { source, sourcePort, target, targetPort };
      return { ...edge, id: edgeId(edge) };
    }),
  };
}

/** The canvas as the API stores it (positions kept in the nodes for the next edit). */
export function toStored(nodes: GraphNode[], edges: GraphEdge[]): { nodes: StoredNode[]; edges: StoredEdge[] } {
  return {
    nodes: nodes.map((n) => ({
      id: n.id,
      action: n.action,
      config: n.config,
      position: { x: Math.round(n.position.x), y: Math.round(n.position.y) },
    })),
    edges: edges.map((e) => ({ from: joinEnd(e.source, e.sourcePort), to: joinEnd(e.target, e.targetPort) })),
  };
}

/** A new node id for `action`: the action's name, numbered when taken. */
export function newNodeId(action: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  if (!used.has(action)) return action;
  let n = 2;
  while (used.has(`${action}-${n}`)) n += 1;
  return `${action}-${n}`;
}

/** Output ports of a node: a switch's come from its cases, then `default`. */
export function outputPorts(action: ActionInfo | undefined, config: Record<string, unknown>): string[] {
  if (!action) return [DEFAULT_PORT];
  if (action.name === "switch") {
    const cases = Array.isArray(config.cases) ? config.cases.map(String) : [];
    return [...cases, "default"];
  }
  return action.outputs;
}

/** Why a connection is refused, or null when it may be made. */
export function refusal(edges: GraphEdge[], candidate: Omit<GraphEdge, "id">): string | null {
  if (candidate.source === candidate.target) return "a node cannot feed itself";
  if (edges.some((e) => e.id === edgeId(candidate))) return "already connected";
  // a cycle: the target already reaches the source
  const next = new Map<string, string[]>();
  for (const e of edges) next.set(e.source, [...(next.get(e.source) ?? []), e.target]);
  const seen = new Set<string>();
  const stack = [candidate.target];
  while (stack.length) {
    const node = stack.pop()!;
    if (node === candidate.source) return "it would make a cycle";
    if (seen.has(node)) continue;
    seen.add(node);
    stack.push(...(next.get(node) ?? []));
  }
  return null;
}

/** Nodes grouped by the palette's families, filtered by a search text. */
export function palette(actions: ActionInfo[], search: string): [string, ActionInfo[]][] {
  const text = search.trim().toLowerCase();
  const groups = new Map<string, ActionInfo[]>();
  for (const action of actions) {
    if (text && !`${action.name} ${action.description}`.toLowerCase().includes(text)) continue;
    groups.set(action.family, [...(groups.get(action.family) ?? []), action]);
  }
  return [...groups.entries()];
}

/** The nodes a connection from `source`'s `port` may reach (the keyboard's way to
 * connect): every other node with an input, each with why it is refused, or null. */
export function targetsFor(
  nodes: { id: string; hasInput: boolean }[],
  edges: GraphEdge[],
  source: string,
  port: string,
): { id: string; refused: string | null }[] {
  return nodes
    .filter((n) => n.hasInput && n.id !== source)
    .map((n) => ({ id: n.id, refused: refusal(edges, { source, sourcePort: port, target: n.id, targetPort: DEFAULT_PORT }) }));
}

/** The connections touching `node`, for listing (and removing) them. */
export function connectionsOf(edges: GraphEdge[], node: string): { edge: GraphEdge; text: string }[] {
  return edges
    .filter((e) => e.source === node || e.target === node)
    .map((e) => ({ edge: e, text: `${e.source}${e.sourcePort === DEFAULT_PORT ? "" : `:${e.sourcePort}`} → ${e.target}` }));
}
