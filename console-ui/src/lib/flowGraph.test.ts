import { describe, expect, it } from "vitest";
import {
  connectionsOf, edgeId, fromStored, newNodeId, outputPorts, palette, refusal, splitEnd, targetsFor, toStored, type ActionInfo,
} from "./flowGraph";

const action = (name: string, family = "flow", outputs = ["payload"]): ActionInfo => ({
  name, family, description: `${name} does things`, config_schema: {}, inputs: ["payload"], outputs, side_effects: false,
});

describe("stored flow <-> canvas", () => {
  const stored = {
    nodes: [
      { id: "start", action: "start" },
      { id: "big", action: "if", config: { condition: "event.properties.total > 100" }, position: { x: 300, y: 40 } },
      { id: "hook", action: "webhook", config: { url: "https://crm.example/hook" } },
    ],
    edges: [{ from: "start", to: "big" }, { from: "big:true", to: "hook" }],
  };

  it("reads ports from edge ends and keeps them on the way back", () => {
    const graph = fromStored(stored.nodes, stored.edges);
    expect(graph.edges[1]).toMatchObject({ source: "big", sourcePort: "true", target: "hook", targetPort: "payload" });
    expect(graph.nodes[1].position).toEqual({ x: 300, y: 40 });
    expect(graph.nodes[0].config).toEqual({});
    const back = toStored(graph.nodes, graph.edges);
    expect(back.edges).toEqual(stored.edges);
    expect(back.nodes.map((n) => [n.id, n.action, n.config])).toEqual([
      ["start", "start", {}],
      ["big", "if", { condition: "event.properties.total > 100" }],
      ["hook", "webhook", { url: "https://crm.example/hook" }],
    ]);
  });

  it("splits an end at the first colon only", () => {
    expect(splitEnd("node")).toEqual(["node", "payload"]);
    expect(splitEnd("sw:a:b")).toEqual(["sw", "a:b"]);
  });
});

describe("editing", () => {
  it("numbers new ids when the action's name is taken", () => {
    expect(newNodeId("webhook", ["start"])).toBe("webhook");
    expect(newNodeId("webhook", ["webhook", "webhook-2"])).toBe("webhook-3");
  });

  it("refuses self loops, duplicates and cycles", () => {
    const e = (source: string, target: string) => ({ source, sourcePort: "payload", target, targetPort: "payload" });
    const edges = [e("a", "b"), e("b", "c")].map((x) => ({ ...x, id: edgeId(x) }));
    expect(refusal(edges, e("a", "a"))).toMatch(/itself/);
    expect(refusal(edges, e("a", "b"))).toMatch(/already/);
    expect(refusal(edges, e("c", "a"))).toMatch(/cycle/);
    expect(refusal(edges, e("a", "c"))).toBeNull();
  });

  it("gives a switch the ports of its cases and a default", () => {
    const sw = action("switch", "flow", []);
    expect(outputPorts(sw, { path: "event.type", cases: ["a", 2] })).toEqual(["a", "2", "default"]);
    expect(outputPorts(action("if", "flow", ["true", "false"]), {})).toEqual(["true", "false"]);
  });

  it("groups the palette by family and searches names and descriptions", () => {
    const all = [action("if"), action("webhook", "outbound"), action("update-traits", "profile")];
    expect(palette(all, "").map(([family]) => family)).toEqual(["flow", "outbound", "profile"]);
    expect(palette(all, "WEB")).toEqual([["outbound", [all[1]]]]);
    expect(palette(all, "nothing like it")).toEqual([]);
  });
});

describe("connecting with the keyboard", () => {
  const link = { source: "a", sourcePort: "true", target: "b", targetPort: "payload" };
  const edges = [{ id: edgeId(link), ...link }];
  const nodes = [{ id: "start", hasInput: false }, { id: "a", hasInput: true }, { id: "b", hasInput: true }];

  it("offers every other node with an input, saying which are refused and why", () => {
    expect(targetsFor(nodes, edges, "b", "payload")).toEqual([
      { id: "a", refused: "it would make a cycle" },
    ]);
    expect(targetsFor(nodes, edges, "a", "true")).toEqual([{ id: "b", refused: "already connected" }]);
    expect(targetsFor(nodes, edges, "start", "payload")).toEqual([
      { id: "a", refused: null },
      { id: "b", refused: null },
    ]);
  });

  it("lists a node's connections with their ports", () => {
    expect(connectionsOf(edges, "b").map((c) => c.text)).toEqual(["a:true → b"]);
    expect(connectionsOf(edges, "start")).toEqual([]);
  });
});
