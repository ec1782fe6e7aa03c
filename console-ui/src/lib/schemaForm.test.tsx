import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { useState } from "react";
import { afterEach, describe, expect, it } from "vitest";
import { SchemaForm } from "./SchemaForm";
import { fieldsOf, problemsOf } from "./schemaForm";

// the shapes the built-in actions declare (core/flows/actions)
const WEBHOOK = {
  type: "object",
  properties: { url: { type: "string", pattern: "^https?://" }, body: {} },
  required: ["url"],
  additionalProperties: false,
};
const TRAITS = {
  type: "object",
  properties: { traits: { type: "object", minProperties: 1 } },
  required: ["traits"],
  additionalProperties: false,
};
const MODE = { type: "object", properties: { mode: { enum: ["a", "b"] }, n: { type: "integer" }, on: { type: "boolean" } } };

describe("fields and problems from a schema", () => {
  it("picks an input per property", () => {
    expect(fieldsOf(WEBHOOK).map((f) => [f.name, f.kind, f.required])).toEqual([["url", "text", true], ["body", "json", false]]);
    expect(fieldsOf(MODE).map((f) => f.kind)).toEqual(["choice", "number", "boolean"]);
  });

  it("names what is missing, mistyped or unknown", () => {
    expect(problemsOf(WEBHOOK, {})).toEqual({ url: "required" });
    expect(problemsOf(WEBHOOK, { url: "ftp://x" })).toEqual({ url: "must match ^https?://" });
    expect(problemsOf(WEBHOOK, { url: "https://x", extra: 1 })).toEqual({ extra: "not a setting of this action" });
    expect(problemsOf(TRAITS, { traits: {} })).toEqual({ traits: "at least 1 entry" });
    expect(problemsOf(MODE, { mode: "c", n: 1.5 })).toEqual({ mode: "one of a, b", n: "must be integer" });
    expect(problemsOf(WEBHOOK, { url: "https://crm.example/hook" })).toEqual({});
  });
});

afterEach(cleanup);

function Harness({ schema }: { schema: Record<string, unknown> }) {
  const [value, setValue] = useState<Record<string, unknown>>({});
  return (
    <>
      <SchemaForm schema={schema} value={value} onChange={setValue} />
      <output data-testid="value">{JSON.stringify(value)}</output>
    </>
  );
}

describe("the generated form", () => {
  it("edits text and JSON settings and shows problems until they are fixed", () => {
    render(<Harness schema={WEBHOOK} />);
    expect(screen.getByRole("alert").textContent).toBe("url: required");
    fireEvent.change(screen.getByLabelText("url *"), { target: { value: "ftp://x" } });
    expect(screen.getByRole("alert").textContent).toContain("must match");
    fireEvent.change(screen.getByLabelText("url *"), { target: { value: "https://crm.example/hook" } });
    expect(screen.queryByRole("alert")).toBeNull();
    fireEvent.change(screen.getByLabelText("body"), { target: { value: '{"a": ' } });
    expect(screen.getByText("not valid JSON yet")).toBeTruthy();
    fireEvent.change(screen.getByLabelText("body"), { target: { value: '{"a": 1}' } });
    expect(JSON.parse(screen.getByTestId("value").textContent!)).toEqual({ url: "https://crm.example/hook", body: { a: 1 } });
  });

  it("edits choices, numbers and switches", () => {
    render(<Harness schema={MODE} />);
    fireEvent.change(screen.getByLabelText("mode"), { target: { value: "b" } });
    fireEvent.change(screen.getByLabelText("n"), { target: { value: "3" } });
    fireEvent.click(screen.getByLabelText("on"));
    expect(JSON.parse(screen.getByTestId("value").textContent!)).toEqual({ mode: "b", n: 3, on: true });
  });
});
