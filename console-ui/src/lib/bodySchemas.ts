// The JSON Schemas of the API's own request bodies, read once from its /openapi.json
// (public: it holds no data), so the console's forms follow the API's models.
import { inlineRefs, type Schema } from "./schemaForm";

let document: Promise<Record<string, unknown>> | null = null;

export async function bodySchema(name: string): Promise<Schema> {
  document ??= fetch("/openapi.json").then((r) => {
    if (!r.ok) throw new Error(`could not read the API's schemas (HTTP ${r.status})`);
    return r.json() as Promise<Record<string, unknown>>;
  });
  const components = ((await document).components as { schemas?: Record<string, unknown> })?.schemas ?? {};
  if (!components[name]) throw new Error(`the API has no schema ${name}`);
  return inlineRefs(components[name], components) as Schema;
}
