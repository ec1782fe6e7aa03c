import { Handle, Position, type Node, type NodeProps } from "@xyflow/react";

export interface NodeTrace {
  duration_ms: number;
  error: string | null;
  input: { port: string; payload: unknown }[];
  output: { port: string; payload: unknown }[];
}

export type ActionNodeData = {
  action: string;
  config: Record<string, unknown>;
  inputs: string[];
  outputs: string[];
  family: string;
  trace?: NodeTrace | null; // the last debug run's, when it reached the node
  problem?: boolean;
};
export type ActionNode = Node<ActionNodeData, "action">;

/** One node on the canvas: its action, its ports as handles, the last debug run. */
export function FlowNode({ id, data, selected }: NodeProps<ActionNode>) {
  const { trace } = data;
  const classes = ["flow-node", `family-${data.family}`, selected ? "selected" : "", data.problem ? "problem" : ""];
  return (
    <div className={classes.join(" ")} data-testid={`node-${id}`}>
      {data.inputs.length > 0 && <Handle type="target" position={Position.Left} id="payload" />}
      <div className="node-title">{data.action}</div>
      <div className="node-id">{id}</div>
      {trace !== undefined && (
        <div className={`node-trace ${trace?.error ? "failed" : trace ? "ran" : "skipped"}`} data-testid={`trace-${id}`}>
          {trace === null
            ? "not reached"
            : trace.error
              ? `error: ${trace.error}`
              : `${trace.duration_ms.toFixed(2)} ms → ${trace.output.map((o) => o.port).join(", ") || "no output"}`}
        </div>
      )}
      {data.outputs.map((port, i) => {
        const top = `${((i + 1) * 100) / (data.outputs.length + 1)}%`;
        return (
          <span key={port}>
            {(data.outputs.length > 1 || port !== "payload") && (
              <span className="port-label" style={{ top }}>{port}</span>
            )}
            <Handle type="source" position={Position.Right} id={port} style={{ top }}
              data-testid={`port-${id}-${port}`} />
          </span>
        );
      })}
    </div>
  );
}
