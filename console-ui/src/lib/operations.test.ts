import { describe, expect, it } from "vitest";
import { lagByTopic, readablePayload } from "./operations";

describe("operations helpers", () => {
  it("groups partitions by topic and adds up their lag", () => {
    const rows = lagByTopic([
      { topic: "hw.intake", partition: 0, committed: 5, end: 7, lag: 2 },
      { topic: "hw.events", partition: 0, committed: null, end: 4, lag: 4 },
      { topic: "hw.intake", partition: 1, committed: 3, end: 3, lag: 0 },
    ]);
    expect(rows.map((r) => [r.topic, r.lag, r.partitions.length])).toEqual([
      ["hw.intake", 2, 2],
      ["hw.events", 4, 1],
    ]);
    expect(lagByTopic([])).toEqual([]);
  });

  it("indents a JSON payload and leaves other text alone", () => {
    expect(readablePayload('{"a":1}')).toBe('{\n  "a": 1\n}');
    expect(readablePayload("base64:/wA=")).toBe("base64:/wA=");
  });
});
