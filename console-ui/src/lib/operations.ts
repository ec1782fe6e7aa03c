// Helpers of the Destinations screen and the dashboard's worker lag.

export interface PartitionLag {
  topic: string;
  partition: number;
  committed: number | null;
  end: number;
  lag: number;
}

export interface TopicLag {
  topic: string;
  lag: number;
  partitions: PartitionLag[];
}

/** Partitions grouped by topic (in the API's order), each with its total lag. */
export function lagByTopic(partitions: PartitionLag[]): TopicLag[] {
  const topics = new Map<string, TopicLag>();
  for (const p of partitions) {
    const topic = topics.get(p.topic) ?? { topic: p.topic, lag: 0, partitions: [] };
    topic.lag += p.lag;
    topic.partitions.push(p);
    topics.set(p.topic, topic);
  }
  return [...topics.values()];
}

/** A dead letter's payload for reading: JSON indented, anything else as it came. */
export function readablePayload(payload: string): string {
  try {
    return JSON.stringify(JSON.parse(payload), null, 2);
  } catch {
    return payload;
  }
}
