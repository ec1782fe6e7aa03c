import { describe, expect, it } from "vitest";
import { editable, parseBody } from "../pages/Config";
import { eventQuery } from "../pages/Events";

describe("data settings and event filters", () => {
  it("edits only what the caller sends back", () => {
    const stored = { id: "e1", env: "staging", updated_at: "t", updated_by: "u", event_type: "buy", version: 3 };
    expect(editable(stored)).toEqual({ event_type: "buy", version: 3 });
  });

  it("says why a body is not a JSON object", () => {
    expect(parseBody('{"a": 1}')).toEqual({ body: { a: 1 } });
    expect(parseBody("[1]").error).toBe("the body must be a JSON object");
    expect(parseBody("{a:").error).toMatch(/^not JSON/);
  });

  it("sends a local time range as UTC and leaves out empty filters", () => {
    const local = "2026-03-01T10:30";
    const query = eventQuery({ since: local, type: " buy ", valid: "", until: "" });
    expect(query).toEqual({ since: new Date(local).toISOString(), type: "buy" });
  });
});
