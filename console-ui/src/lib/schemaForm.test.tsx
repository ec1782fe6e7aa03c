import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { useState } from "react";
import { afterEach, describe, expect, it } from "vitest";
import { SchemaForm } from "./SchemaForm";
import { fieldsOf, inlineRefs, problemsOf } from "./schemaForm";

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

// the shapes of the API's own bodies (/openapi.json), as pydantic writes them
const COMPONENTS = {
  FieldMappingIn: {
    type: "object",
    properties: {
      source: { type: "string", pattern: "^(properties|context)\\." },
      target: { type: "string" },
      op: { type: "string", enum: ["equals", "append"] },
    },
    required: ["source", "target"],
  },
};
const MAPPING = {
  type: "object",
  additionalProperties: false,
  required: ["event_type"],
  properties: {
    event_type: { type: "string", minLength: 1 },
    source_id: { anyOf: [{ type: "string" }, { type: "null" }] },
    fields: { type: "array", items: { $ref: "#/components/schemas/FieldMappingIn" } },
    moves: { type: "object", additionalProperties: { type: "string" } },
    blocked: { anyOf: [{ type: "array", items: { type: "string" } }, { type: "null" }] },
    max_merges: { type: "integer", minimum: 1 },
    json_schema: { anyOf: [{ type: "object", additionalProperties: true }, { type: "null" }] },
  },
};

describe("forms of the API's bodies", () => {
  const schema = inlineRefs(MAPPING, COMPONENTS) as Record<string, unknown>;

  it("reads optional fields, lists of rows, name-value pairs and lines", () => {
    expect(fieldsOf(schema).map((f) => [f.name, f.kind])).toEqual([
      ["event_type", "text"],
      ["source_id", "text"],
      ["fields", "rows"],
      ["moves", "pairs"],
      ["blocked", "lines"],
      ["max_merges", "number"],
      ["json_schema", "json"],
    ]);
  });

  it("finds the first problem of a row, a null optional field is fine", () => {
    expect(problemsOf(schema, { event_type: "x", source_id: null, fields: [{ source: "properties.a", target: "traits.a" }, { source: "x" }] }))
      .toEqual({ fields: "row 2: target: required" });
    expect(problemsOf(schema, { event_type: "x", max_merges: 0 })).toEqual({ max_merges: "at least 1" });
  });

  it("adds and edits rows and pairs", () => {
    render(<Harness schema={schema} />);
    fireEvent.change(screen.getByLabelText("event_type *"), { target: { value: "signed-up" } });
    fireEvent.click(screen.getByRole("button", { name: "Add to fields" }));
    fireEvent.change(screen.getByLabelText("fields 1 source"), { target: { value: "properties.plan" } });
    fireEvent.change(screen.getByLabelText("fields 1 target"), { target: { value: "traits.plan" } });
    fireEvent.change(screen.getByLabelText("fields 1 op"), { target: { value: "append" } });
    fireEvent.click(screen.getByRole("button", { name: "Add to moves" }));
    fireEvent.change(screen.getByLabelText("moves 1 name"), { target: { value: "properties.total" } });
    fireEvent.change(screen.getByLabelText("moves 1 value"), { target: { value: "properties.sum" } });
    fireEvent.change(screen.getByLabelText("blocked"), { target: { value: "a@x.example\n\nb@x.example" } });
    expect(JSON.parse(screen.getByTestId("value").textContent!)).toEqual({
      event_type: "signed-up",
      fields: [{ source: "properties.plan", target: "traits.plan", op: "append" }],
      moves: { "properties.total": "properties.sum" },
      blocked: ["a@x.example", "b@x.example"],
    });
    expect(screen.queryByRole("alert")).toBeNull();
    fireEvent.click(screen.getAllByRole("button", { name: "remove" })[0]);
    expect(JSON.parse(screen.getByTestId("value").textContent!).fields).toEqual([]);
  });
});
