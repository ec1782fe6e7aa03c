// The subset of JSON Schema the flow actions' configurations and the API's own request
// bodies (from /openapi.json) use, for generated forms: one field per property, checked
// before saving (the API checks again with the full schema and says what it refuses).

export interface Field {
  name: string;
  kind: "text" | "number" | "boolean" | "choice" | "json" | "pairs" | "rows" | "lines";
  required: boolean;
  choices: string[];
  description: string;
  /** for "rows": the schema of one row (an object of plain fields) */
  item?: Schema;
}

export type Schema = Record<string, unknown>;

const types = (s: Schema): string[] => (Array.isArray(s.type) ? (s.type as string[]) : s.type ? [String(s.type)] : []);

/** `anyOf: [X, {type: null}]` (an optional field, as pydantic writes it) read as X. */
export function plain(prop: Schema): Schema {
  const options = prop.anyOf;
  if (!Array.isArray(options)) return prop;
  const real = (options as Schema[]).filter((o) => !(types(o).length === 1 && types(o)[0] === "null"));
  return real.length === 1 && real.length < options.length ? { ...prop, ...real[0], anyOf: undefined } : prop;
}

/** `schema` with every `$ref: "#/components/schemas/X"` replaced by X from `components`. */
export function inlineRefs(schema: unknown, components: Record<string, unknown>, depth = 0): unknown {
  if (depth > 20 || typeof schema !== "object" || schema === null) return schema;
  if (Array.isArray(schema)) return schema.map((s) => inlineRefs(s, components, depth + 1));
  const ref = (schema as Schema).$ref;
  if (typeof ref === "string") return inlineRefs(components[ref.split("/").pop()!], components, depth + 1);
  return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, inlineRefs(v, components, depth + 1)]));
}

const isFlat = (s: Schema) =>
  types(s)[0] === "object" && typeof s.properties === "object" &&
  fieldsOf(s).every((f) => ["text", "number", "boolean", "choice"].includes(f.kind));

function kindOf(prop: Schema): Field["kind"] {
  const t = types(prop);
  if (Array.isArray(prop.enum)) return "choice";
  if (t.length !== 1) return "json";
  const items = (prop.items ?? {}) as Schema;
  const values = prop.additionalProperties as Schema | boolean | undefined;
  switch (t[0]) {
    case "string": return "text";
    case "number": case "integer": return "number";
    case "boolean": return "boolean";
    case "array": return types(items)[0] === "string" && !items.enum ? "lines" : isFlat(items) ? "rows" : "json";
    case "object":
      return !prop.properties && typeof values === "object" && types(values)[0] === "string" ? "pairs" : "json";
    default: return "json";
  }
}

export function fieldsOf(schema: Schema): Field[] {
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  return Object.entries(properties).map(([name, raw]) => {
    const prop = plain(raw);
    const kind = kindOf(prop);
    return {
      name,
      kind,
      required: required.has(name),
      choices: Array.isArray(prop.enum) ? prop.enum.map(String) : [],
      description: typeof prop.description === "string" ? prop.description : "",
      ...(kind === "rows" ? { item: prop.items as Schema } : {}),
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
    const raw = properties[name];
    if (!raw) {
      if (schema.additionalProperties === false) problems[name] = "not a setting of this action";
      continue;
    }
    if (problems[name] || value === undefined || (value === null && raw !== plain(raw))) continue;
    const prop = plain(raw);
    const t = types(prop);
    if (t.length && !t.some((x) => typeOk(value, x))) problems[name] = `must be ${t.join(" or ")}`;
    else if (typeof value === "string" && typeof prop.minLength === "number" && value.length < prop.minLength)
      problems[name] = "required";
    else if (typeof value === "string" && typeof prop.pattern === "string" && !new RegExp(prop.pattern).test(value))
      problems[name] = `must match ${prop.pattern}`;
    else if (typeof value === "number" && typeof prop.minimum === "number" && value < prop.minimum)
      problems[name] = `at least ${prop.minimum}`;
    else if (typeof value === "number" && typeof prop.maximum === "number" && value > prop.maximum)
      problems[name] = `at most ${prop.maximum}`;
    else if (Array.isArray(prop.enum) && !prop.enum.includes(value)) problems[name] = `one of ${prop.enum.join(", ")}`;
    else if (typeOk(value, "object") && typeof prop.minProperties === "number" &&
      Object.keys(value as object).length < prop.minProperties)
      problems[name] = `at least ${prop.minProperties} entr${prop.minProperties === 1 ? "y" : "ies"}`;
    else if (Array.isArray(value) && typeof prop.minItems === "number" && value.length < prop.minItems)
      problems[name] = `at least ${prop.minItems}`;
    else if (Array.isArray(value) && kindOf(prop) === "rows") {
      const item = prop.items as Schema;
      for (const [index, row] of value.entries()) {
        const [field, problem] = Object.entries(problemsOf(item, (row ?? {}) as Record<string, unknown>))[0] ?? [];
        if (field) {
          problems[name] = `row ${index + 1}: ${field}: ${problem}`;
          break;
        }
      }
    }
  }
  return problems;
}
