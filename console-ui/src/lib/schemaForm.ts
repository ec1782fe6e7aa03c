// The subset of JSON Schema the flow actions' configurations use, for generated
// settings forms: one field per property, checked before saving (the API checks again
// with the full schema and says what it refuses).

export interface Field {
  name: string;
  kind: "text" | "number" | "boolean" | "choice" | "json";
  required: boolean;
  choices: string[];
  description: string;
}

type Schema = Record<string, unknown>;

const types = (s: Schema): string[] => (Array.isArray(s.type) ? (s.type as string[]) : s.type ? [String(s.type)] : []);

export function fieldsOf(schema: Schema): Field[] {
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  return Object.entries(properties).map(([name, prop]) => {
    const t = types(prop);
    const kind: Field["kind"] = Array.isArray(prop.enum)
      ? "choice"
      : t.length === 1 && t[0] === "string"
        ? "text"
        : t.length === 1 && (t[0] === "number" || t[0] === "integer")
          ? "number"
          : t.length === 1 && t[0] === "boolean"
            ? "boolean"
            : "json";
    return {
      name,
      kind,
      required: required.has(name),
      choices: Array.isArray(prop.enum) ? prop.enum.map(String) : [],
      description: typeof prop.description === "string" ? prop.description : "",
    };
  });
}

function typeOk(value: unknown, t: string): boolean {
  switch (t) {
    case "string": return typeof value === "string";
    case "number": return typeof value === "number" && Number.isFinite(value);
    case "integer": return Number.isInteger(value);
    case "boolean": return typeof value === "boolean";
    case "object": return typeof value === "object" && value !== null && !Array.isArray(value);
    case "array": return Array.isArray(value);
    case "null": return value === null;
    default: return true;
  }
}

/** Problems of `config` by field name ("" for the whole form); empty when none. */
export function problemsOf(schema: Schema, config: Record<string, unknown>): Record<string, string> {
  const problems: Record<string, string> = {};
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  for (const name of (schema.required as string[] | undefined) ?? []) {
    const value = config[name];
    if (value === undefined || value === "" || value === null) problems[name] = "required";
  }
  for (const [name, value] of Object.entries(config)) {
    const prop = properties[name];
    if (!prop) {
      if (schema.additionalProperties === false) problems[name] = "not a setting of this action";
      continue;
    }
    if (problems[name] || value === undefined) continue;
    const t = types(prop);
    if (t.length && !t.some((x) => typeOk(value, x))) problems[name] = `must be ${t.join(" or ")}`;
    else if (typeof value === "string" && typeof prop.minLength === "number" && value.length < prop.minLength)
      problems[name] = "required";
    else if (typeof value === "string" && typeof prop.pattern === "string" && !new RegExp(prop.pattern).test(value))
      problems[name] = `must match ${prop.pattern}`;
    else if (Array.isArray(prop.enum) && !prop.enum.includes(value)) problems[name] = `one of ${prop.enum.join(", ")}`;
    else if (typeOk(value, "object") && typeof prop.minProperties === "number" &&
      Object.keys(value as object).length < prop.minProperties)
      problems[name] = `at least ${prop.minProperties} entr${prop.minProperties === 1 ? "y" : "ies"}`;
  }
  return problems;
}
