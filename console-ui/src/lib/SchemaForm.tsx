import { useState } from "react";
import { fieldsOf, problemsOf } from "./schemaForm";

type Config = Record<string, unknown>;

function JsonField({ id, value, onChange }: { id: string; value: unknown; onChange: (v: unknown) => void }) {
  const [text, setText] = useState(value === undefined ? "" : JSON.stringify(value, null, 2));
  const [bad, setBad] = useState(false);
  return (
    <>
      <textarea id={id} rows={3} value={text} spellCheck={false} aria-invalid={bad || undefined}
        onChange={(e) => {
          setText(e.target.value);
          if (!e.target.value.trim()) {
            setBad(false);
            onChange(undefined);
            return;
          }
          try {
            onChange(JSON.parse(e.target.value));
            setBad(false);
          } catch {
            setBad(true);
          }
        }} />
      {bad && <span className="error">not valid JSON yet</span>}
    </>
  );
}

/** A settings form generated from an action's configuration schema, with its problems
 * shown next to each field. */
export function SchemaForm({
  schema,
  value,
  onChange,
  disabled,
}: {
  schema: Record<string, unknown>;
  value: Config;
  onChange: (config: Config) => void;
  disabled?: boolean;
}) {
  const fields = fieldsOf(schema);
  const problems = problemsOf(schema, value);
  const set = (name: string, v: unknown) => {
    const next = { ...value };
    if (v === undefined || v === "") delete next[name];
    else next[name] = v;
    onChange(next);
  };
  if (fields.length === 0) return <p className="muted">This action has no settings.</p>;
  return (
    <fieldset className="schema-form" disabled={disabled}>
      {fields.map((field) => {
        const current = value[field.name];
        const id = `setting-${field.name}`;
        return (
          <div key={field.name} className="field">
            <label htmlFor={id}>
              {field.name}
              {field.required && " *"}
            </label>
            {field.kind === "boolean" ? (
              <input id={id} type="checkbox" checked={current === true} onChange={(e) => set(field.name, e.target.checked)} />
            ) : field.kind === "choice" ? (
              <select id={id} value={String(current ?? "")} onChange={(e) => set(field.name, e.target.value)}>
                <option value="">—</option>
                {field.choices.map((c) => <option key={c}>{c}</option>)}
              </select>
            ) : field.kind === "number" ? (
              <input id={id} type="number" value={typeof current === "number" ? current : ""}
                onChange={(e) => set(field.name, e.target.value === "" ? undefined : Number(e.target.value))} />
            ) : field.kind === "text" ? (
              <input id={id} value={typeof current === "string" ? current : ""} onChange={(e) => set(field.name, e.target.value)} />
            ) : (
              <JsonField key={field.name} id={id} value={current} onChange={(v) => set(field.name, v)} />
            )}
            {field.description && <small className="muted">{field.description}</small>}
            {problems[field.name] && (
              <small className="error" role="alert">{field.name}: {problems[field.name]}</small>
            )}
          </div>
        );
      })}
    </fieldset>
  );
}
