import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { useMutation } from 'urql';
import { graphql } from '../gql';
import { Link } from '../router';
import { firstError, unmaskTask, type TaskFields } from '../tasks';

const startDiagnosticMutationDocument = graphql(`
  mutation StartDiagnosticTask($input: DiagnosticTaskInput!) {
    startDiagnosticTask(input: $input) {
      ...TaskFields
    }
  }
`);

type Field = 'steps' | 'stepMillis' | 'lockKeys' | 'fail' | 'crash';
const FIELDS: readonly Field[] = ['steps', 'stepMillis', 'lockKeys', 'fail', 'crash'];

/** extensions.field ("steps", "input.stepMillis", "lock_keys") -> the form's field, if any. */
function formField(name: string | undefined): Field | null {
  if (!name) return null;
  const last = name.split('.').pop() ?? name;
  const camel = last.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  return (FIELDS as readonly string[]).includes(camel) ? (camel as Field) : null;
}

/** "steps: must be 1-10000, not 0" -> "Must be 1-10000, not 0." */
function fieldMessage(raw: string, field: string | undefined): string {
  let text = raw;
  if (field && text.startsWith(`${field}: `)) text = text.slice(field.length + 2);
  text = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

function parseWhole(value: string): number | null {
  const v = value.trim();
  if (!/^-?\d+$/.test(v)) return null;
  return Number(v);
}

export function DiagnosticForm({ onStarted }: { onStarted: (task: TaskFields) => void }) {
  const id = useId();
  const [steps, setSteps] = useState('5');
  const [stepMillis, setStepMillis] = useState('200');
  const [lockKeys, setLockKeys] = useState('');
  const [fail, setFail] = useState(false);
  const [crash, setCrash] = useState(false);
  const [errors, setErrors] = useState<Partial<Record<Field, string>>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [started, setStarted] = useState<TaskFields | null>(null);
  const [{ fetching }, start] = useMutation(startDiagnosticMutationDocument);
  const focusError = useRef(false);

  // After a failed submit, move the focus to the first field at fault.
  useEffect(() => {
    if (!focusError.current) return;
    focusError.current = false;
    const first = FIELDS.find((f) => errors[f]);
    if (first) document.getElementById(`${id}-${first}`)?.focus();
  }, [errors, id]);

  async function handleSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    if (fetching) return;
    setFormError(null);
    setStarted(null);
    const local: Partial<Record<Field, string>> = {};
    const stepsValue = parseWhole(steps);
    const millisValue = parseWhole(stepMillis);
    if (stepsValue === null) local.steps = 'Enter a whole number.';
    if (millisValue === null) local.stepMillis = 'Enter a whole number of milliseconds.';
    focusError.current = true;
    setErrors(local);
    if (stepsValue === null || millisValue === null) return;

    const result = await start({
      input: {
        steps: stepsValue,
        stepMillis: millisValue,
        lockKeys: lockKeys
          .split(',')
          .map((k) => k.trim())
          .filter(Boolean),
        fail,
        crash,
      },
    });
    const task = result.data?.startDiagnosticTask;
    if (task) {
      const t = unmaskTask(task);
      setStarted(t);
      onStarted(t);
      return;
    }
    if (!result.error) {
      setFormError('The server did not start a task.');
      return;
    }
    const next: Partial<Record<Field, string>> = {};
    const other: string[] = [];
    for (const err of result.error.graphQLErrors) {
      const raw = typeof err.extensions?.field === 'string' ? err.extensions.field : undefined;
      const field = err.extensions?.code === 'BAD_USER_INPUT' ? formField(raw) : null;
      if (field && !next[field]) next[field] = fieldMessage(err.message, raw);
      else other.push(err.message);
    }
    focusError.current = true;
    setErrors(next);
    if (other.length > 0 || result.error.networkError) {
      setFormError(other[0] ?? firstError(result.error).message);
    }
  }

  function fieldProps(field: Field) {
    const error = errors[field];
    return {
      id: `${id}-${field}`,
      name: field,
      'aria-invalid': error ? true : undefined,
      'aria-describedby': error ? `${id}-${field}-error` : undefined,
    } as const;
  }

  function fieldError(field: Field) {
    const error = errors[field];
    if (!error) return null;
    return (
      <p id={`${id}-${field}-error`} className="field-error" data-field={field}>
        {error}
      </p>
    );
  }

  return (
    <form className="card diag-form" onSubmit={handleSubmit} noValidate aria-labelledby={`${id}-title`}>
      <div className="diag-head">
        <h2 id={`${id}-title`}>Run diagnostic</h2>
        <p className="muted">A built-in task that walks through its steps, reporting progress.</p>
      </div>
      <div className="diag-fields">
        <div className="field field-narrow">
          <label htmlFor={`${id}-steps`}>Steps</label>
          <input
            {...fieldProps('steps')}
            type="number"
            inputMode="numeric"
            value={steps}
            onChange={(e) => setSteps(e.target.value)}
          />
          {fieldError('steps')}
        </div>
        <div className="field field-narrow">
          <label htmlFor={`${id}-stepMillis`}>Step ms</label>
          <input
            {...fieldProps('stepMillis')}
            type="number"
            inputMode="numeric"
            value={stepMillis}
            onChange={(e) => setStepMillis(e.target.value)}
          />
          {fieldError('stepMillis')}
        </div>
        <div className="field field-wide">
          <label htmlFor={`${id}-lockKeys`}>Lock keys</label>
          <input
            {...fieldProps('lockKeys')}
            type="text"
            placeholder="e.g. app:demo, backup"
            autoCapitalize="none"
            spellCheck={false}
            value={lockKeys}
            onChange={(e) => setLockKeys(e.target.value)}
          />
          {fieldError('lockKeys')}
        </div>
        <div className="field field-checks">
          <span className="field-label" aria-hidden="true">
            Outcome
          </span>
          <div className="checks">
            <label className="check">
              <input {...fieldProps('fail')} type="checkbox" checked={fail} onChange={(e) => setFail(e.target.checked)} />
              Fail
            </label>
            <label className="check">
              <input
                {...fieldProps('crash')}
                type="checkbox"
                checked={crash}
                onChange={(e) => setCrash(e.target.checked)}
              />
              Crash
            </label>
          </div>
          {fieldError('fail')}
          {fieldError('crash')}
        </div>
        <div className="field field-submit">
          <button type="submit" className="button primary" disabled={fetching}>
            {fetching ? 'Starting…' : 'Run diagnostic'}
          </button>
        </div>
      </div>
      {formError && (
        <p className="error form-error" role="alert">
          {formError}
        </p>
      )}
      {started && (
        <p className="form-status" role="status">
          Started diagnostic task{' '}
          <Link to={`/tasks/${encodeURIComponent(started.id)}`} data-testid="started-task" data-task-id={started.id}>
            {started.id}
          </Link>
          .
        </p>
      )}
    </form>
  );
}
