import { ApiError } from "../api/client";
import { markAt } from "./condition";

/** A condition text box that shows a syntax error where it is in the text. */
export function ConditionInput({
  value,
  onChange,
  error,
  placeholder,
  label = "Condition",
}: {
  value: string;
  onChange: (text: string) => void;
  error: ApiError | null;
  placeholder?: string;
  label?: string;
}) {
  const where = error ? markAt(value, error.body) : null;
  return (
    <div className="condition">
      <label>
        {label}
        <textarea rows={2} value={value} spellCheck={false} placeholder={placeholder}
          aria-invalid={error ? true : undefined} onChange={(e) => onChange(e.target.value)} />
      </label>
      {error && (
        <div className="error" role="alert" data-testid="condition-error">
          {where && (
            <pre className="caret">
              {where.line}
              {"\n"}
              {" ".repeat(where.column - 1)}^
            </pre>
          )}
          {error.message}
        </div>
      )}
    </div>
  );
}
