// The rule form's text fields as the API's rule body, and back.

export interface RuleDraft {
  eventType: string;
  condition: string;
  consents: string;
}

export interface RuleFields {
  event_type: string;
  condition?: string | null;
  consents?: string[];
}

export const emptyRule: RuleDraft = { eventType: "", condition: "", consents: "" };

/** The body fields of a draft: a blank condition is none, consents are comma separated. */
export function ruleBody(draft: RuleDraft): { event_type: string; condition: string | null; consents: string[] } {
  const consents = draft.consents.split(",").map((c) => c.trim()).filter(Boolean);
  return { event_type: draft.eventType.trim(), condition: draft.condition.trim() || null, consents: [...new Set(consents)] };
}

export function ruleDraft(rule: RuleFields): RuleDraft {
  return { eventType: rule.event_type, condition: rule.condition ?? "", consents: (rule.consents ?? []).join(", ") };
}
