import { useState } from "react";
import { fieldsOf, problemsOf, type Field, type Schema } from "./schemaForm";

type Config = Record<string, unknown>;

function JsonField({ id, value, onChange }: { id: string; value: unknown; onChange: (v: unknown) => void }) {
  const [text, setText] = useState(value === undefined || value === null ? "" : JSON.stringify(value, null, 2));
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

/** A list of texts, one per line (empty lines left out). */
function LinesField({ id, value, onChange }: { id: string; value: unknown; onChange: (v: unknown) => void }) {
  const [text, setText] = useState(Array.isArray(value) ? value.join("\n") : "");
  return (
    <textarea id={id} rows={3} value={text} spellCheck={false}
      onChange={(e) => {
        setText(e.target.value);
        const lines = e.target.value.split("\n").map((l) => l.trim()).filter(Boolean);
        onChange(lines.length ? lines : undefined);
      }} />
  );
}

/** One plain input (text, number, switch or choice) for `field`, labelled by `label`. */
function PlainInput({ field, id, label, value, onChange }: {
  field: Field; id: string; label?: string; value: unknown; onChange: (v: unknown) => void;
}) {
  if (field.kind === "boolean")
    return <input id={id} aria-label={label} type="checkbox" checked={value === true} onChange={(e) => onChange(e.target.checked)} />;
  if (field.kind === "choice")
    return (
      <select id={id} aria-label={label} value={String(value ?? "")} onChange={(e) => onChange(e.target.value || undefined)}>
        <option value="">—</option>
        {field.choices.map((c) => <option key={c}>{c}</option>)}
      </select>
    );
  if (field.kind === "number")
    return <input id={id} aria-label={label} type="number" value={typeof value === "number" ? value : ""}
      onChange={(e) => onChange(e.target.value === "" ? undefined : Number(e.target.value))} />;
  return <input id={id} aria-label={label} value={typeof value === "string" ? value : ""} onChange={(e) => onChange(e.target.value)} />;
}

/** An object of text values (`{"a": "b"}`) as rows of name and value. */
function PairsField({ id, name, value, onChange }: { id: string; name: string; value: unknown; onChange: (v: unknown) => void }) {
  const pairs = Object.entries((value ?? {}) as Record<string, string>);
  const set = (next: [string, string][]) => onChange(next.length ? Object.fromEntries(next) : undefined);
  return (
    <div className="pairs" id={id} role="group" aria-label={name}>
      {pairs.map(([k, v], i) => (
        <div className="row" key={i}>
          <input aria-label={`${name} ${i + 1} name`} value={k}
            onChange={(e) => set(pairs.map((p, j) => (j === i ? [e.target.value, p[1]] : p)))} />
          <input aria-label={`${name} ${i + 1} value`} value={v}
            onChange={(e) => set(pairs.map((p, j) => (j === i ? [p[0], e.target.value] : p)))} />
          <button type="button" className="link" onClick={() => set(pairs.filter((_, j) => j !== i))}>remove</button>
        </div>
      ))}
      <button type="button" className="secondary" onClick={() => set([...pairs, [`name${pairs.length + 1}`, ""]])}>
        Add to {name}
      </button>
    </div>
  );
}

/** A list of flat objects (`[{"source": .., "target": ..}]`) as a table, a row each. */
function RowsField({ id, name, item, value, onChange }: {
  id: string; name: string; item: Schema; value: unknown; onChange: (v: unknown) => void;
}) {
  const rows = (Array.isArray(value) ? value : []) as Config[];
  const columns = fieldsOf(item);
  const set = (next: Config[]) => onChange(next);
  const blank = () => Object.fromEntries(columns.filter((c) => c.kind === "boolean").map((c) => [c.name, false]));
  return (
    <div id={id} role="group" aria-label={name}>
      {rows.length > 0 && (
        <table className="rows">
          <thead>
            <tr>{columns.map((c) => <th key={c.name}>{c.name}{c.required && " *"}</th>)}<th /></tr>
          </thead>
          <tbody>
            {rows.map((row, i) => (
              <tr key={i}>
                {columns.map((c) => (
                  <td key={c.name}>
                    <PlainInput field={c} id={`${id}-${i}-${c.name}`} label={`${name} ${i + 1} ${c.name}`} value={row[c.name]}
                      onChange={(v) => set(rows.map((r, j) => {
                        if (j !== i) return r;
                        const next = { ...r, [c.name]: v };
                        if (v === undefined || v === "") delete next[c.name];
                        return next;
                      }))} />
                  </td>
                ))}
                <td><button type="button" className="link" onClick={() => set(rows.filter((_, j) => j !== i))}>remove</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <button type="button" className="secondary" onClick={() => set([...rows, blank()])}>Add to {name}</button>
    </div>
  );
}

/** A form generated from a JSON Schema (an action's configuration, or an API body), with
 * its problems shown next to each field. */
export function SchemaForm({
  schema,
  value,
  onChange,
  disabled,
  idPrefix = "setting",
  hidden = [],
}: {
  schema: Record<string, unknown>;
  value: Config;
  onChange: (config: Config) => void;
  disabled?: boolean;
  idPrefix?: string;
  hidden?: string[];
}) {
  const fields = fieldsOf(schema).filter((f) => !hidden.includes(f.name));
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
        const id = `${idPrefix}-${field.name}`;
        const change = (v: unknown) => set(field.name, v);
        return (
          <div key={field.name} className="field">
            <label htmlFor={id}>
              {field.name}
              {field.required && " *"}
            </label>
            {field.kind === "pairs" ? (
              <PairsField id={id} name={field.name} value={current} onChange={change} />
            ) : field.kind === "rows" ? (
              <RowsField id={id} name={field.name} item={field.item!} value={current} onChange={change} />
            ) : field.kind === "lines" ? (
              <LinesField id={id} value={current} onChange={change} />
            ) : field.kind === "json" ? (
              <JsonField key={field.name} id={id} value={current} onChange={change} />
            ) : (
              <PlainInput field={field} id={id} value={current} onChange={change} />
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
