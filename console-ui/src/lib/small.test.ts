import { describe, expect, it } from "vitest";
import { can } from "./access";
import { markAt } from "./condition";
import { ruleBody, ruleDraft } from "./rules";
import { analyticsJsSnippet, trackerSnippet } from "./snippets";
import { timeline } from "./timeline";

describe("console helpers", () => {
  it("mirrors the permission matrix", () => {
    expect(can("marketer", "config:write")).toBe(false);
    expect(can("developer", "config:deploy")).toBe(true);
    expect(can("maintainer", "data:delete")).toBe(true);
    expect(can("developer", "data:delete")).toBe(false);
    expect(can(undefined, "self")).toBe(false);
  });

  it("puts the caret under the column the API names", () => {
    expect(markAt("a = 1\nand", { line: 2, column: 1 })).toEqual({ line: "and", column: 1 });
    expect(markAt("x >=", { line: 1, column: 99 })).toEqual({ line: "x >=", column: 5 });
    expect(markAt("x", { error: "no position" })).toBeNull();
  });

  it("points snippets at the collector with the source's key or id", () => {
    const target = { collector: "http://10.0.0.5:8686", sourceId: "src-1", writeKey: "hw_abc" };
    const js = analyticsJsSnippet(target);
    expect(js).toContain('apiHost: "10.0.0.5:8686/v1"');
    expect(js).toContain('protocol: "http"');
    expect(js).toContain('writeKey: "hw_abc"');
    expect(analyticsJsSnippet({ ...target, writeKey: null })).toContain("shown once");
    expect(trackerSnippet(target)).toContain('const source = "src-1"');
  });

  it("orders a timeline newest first and marks invalid events", () => {
    const rows = timeline(
      [
        { id: "e1", type: "view", time: { create: "2026-01-01T10:00:00Z" } },
        { id: "e2", type: "buy", time: { create: "2026-01-01T11:00:00Z" }, metadata: { valid: false } },
      ],
      [{ id: "s1", start: "2026-01-01T09:59:00Z", events: 2, duration: 3_600_000 }],
    );
    expect(rows.map((r) => r.id)).toEqual(["e2", "e1", "s1"]);
    expect(rows[0].invalid).toBe(true);
    expect(rows[2].detail).toBe("2 events over 3600 s");
  });
});

describe("the rule form", () => {
  it("sends a blank condition as none and consents as a list", () => {
    expect(ruleBody({ eventType: " purchase ", condition: "  ", consents: "marketing, , ads,marketing" }))
      .toEqual({ event_type: "purchase", condition: null, consents: ["marketing", "ads"] });
    expect(ruleDraft({ event_type: "x", condition: "event.a = 1", consents: ["a", "b"] }))
      .toEqual({ eventType: "x", condition: "event.a = 1", consents: "a, b" });
  });
});
