import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { useMutation } from 'urql';
import { graphql, getFragmentData } from '../gql';
import type { InstallAppInput } from '../gql/graphql';
import { Link } from '../router';
import { firstError } from '../tasks';
import { appTaskFieldsFragment, type AppTask } from '../apps';

const installAppMutationDocument = graphql(`
  mutation InstallApp($input: InstallAppInput!) {
    installApp(input: $input) {
      ...AppTaskFields
    }
  }
`);

type Field = 'image' | 'location' | 'ports' | 'cpuQuota' | 'memoryLimit';
const FIELDS: readonly Field[] = ['image', 'location', 'ports', 'cpuQuota', 'memoryLimit'];
// The input to focus for each field's error.
const FOCUS: Record<Field, string> = {
  image: 'image',
  location: 'location',
  ports: 'hostPort',
  cpuQuota: 'cpuQuota',
  memoryLimit: 'memoryLimit',
};

const MIB = 1024 * 1024;

/** extensions.field ("location", "input.ports[0].hostPort", "memory_limit") -> the form's field. */
function formField(name: string | undefined): Field | null {
  if (!name) return null;
  const parts = name.split(/[.[\]]+/).filter(Boolean);
  const first = parts[0] === 'input' ? parts[1] : parts[0];
  if (!first) return null;
  const camel = first.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  return (FIELDS as readonly string[]).includes(camel) ? (camel as Field) : null;
}

/** "location: must be ..." -> "Must be ...". */
function fieldMessage(raw: string, field: string | undefined): string {
  let text = raw;
  if (field && text.startsWith(`${field}: `)) text = text.slice(field.length + 2);
  text = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

function parseWhole(value: string): number | null | undefined {
  const v = value.trim();
  if (v === '') return undefined;
  if (!/^-?\d+$/.test(v)) return null;
  return Number(v);
}

export function InstallAppForm({ onInstalled }: { onInstalled: (task: AppTask) => void }) {
  const id = useId();
  const [image, setImage] = useState('');
  const [location, setLocation] = useState('');
  const [hostPort, setHostPort] = useState('');
  const [envVar, setEnvVar] = useState('');
  const [cpuQuota, setCpuQuota] = useState('');
  const [memory, setMemory] = useState('');
  const [errors, setErrors] = useState<Partial<Record<Field, string>>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [started, setStarted] = useState<{ task: AppTask; location: string } | null>(null);
  const [{ fetching }, install] = useMutation(installAppMutationDocument);
  const focusError = useRef(false);

  useEffect(() => {
    if (!focusError.current) return;
    focusError.current = false;
    const first = FIELDS.find((f) => errors[f]);
    if (first) document.getElementById(`${id}-${FOCUS[first]}`)?.focus();
  }, [errors, id]);

  async function handleSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    if (fetching) return;
    setFormError(null);
    setStarted(null);

    const local: Partial<Record<Field, string>> = {};
    if (!image.trim()) local.image = 'Enter an image, e.g. nginx:1.27.';
    if (!location.trim()) local.location = 'Enter a location, e.g. wiki or wiki.example.com.';
    const port = parseWhole(hostPort);
    if (port === null) local.ports = 'Enter a whole port number.';
    else if ((port === undefined) !== (envVar.trim() === '')) local.ports = 'Give both a host port and a variable name, or neither.';
    const cpu = parseWhole(cpuQuota);
    if (cpu === null) local.cpuQuota = 'Enter a whole percentage.';
    const mib = parseWhole(memory);
    if (mib === null) local.memoryLimit = 'Enter a whole number of MiB.';
    focusError.current = true;
    setErrors(local);
    if (Object.keys(local).length > 0) return;

    const input: InstallAppInput = { image: image.trim(), location: location.trim() };
    if (port !== undefined && port !== null) input.ports = [{ envVar: envVar.trim(), hostPort: port }];
    if (cpu != null) input.cpuQuota = cpu;
    if (mib != null) input.memoryLimit = mib * MIB;

    const result = await install({ input });
    const task = result.data?.installApp;
    if (task) {
      const t = getFragmentData(appTaskFieldsFragment, task);
      setStarted({ task: t, location: input.location });
      setLocation('');
      setHostPort('');
      setEnvVar('');
      onInstalled(t);
      return;
    }
    if (!result.error) {
      setFormError('The server did not start an install.');
      return;
    }
    const next: Partial<Record<Field, string>> = {};
    const other: string[] = [];
    for (const err of result.error.graphQLErrors) {
      const raw = typeof err.extensions?.field === 'string' ? err.extensions.field : undefined;
      const code = err.extensions?.code;
      const field = code === 'BAD_USER_INPUT' || code === 'CONFLICT' ? formField(raw) : null;
      if (field && !next[field]) next[field] = fieldMessage(err.message, raw);
      else other.push(err.message);
    }
    focusError.current = true;
    setErrors(next);
    if (other.length > 0 || result.error.networkError) setFormError(other[0] ?? firstError(result.error).message);
  }

  function inputProps(name: string, field: Field) {
    const error = errors[field];
    return {
      id: `${id}-${name}`,
      name,
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
    <form className="card install-form" onSubmit={handleSubmit} noValidate aria-labelledby={`${id}-title`}>
      <div className="diag-head">
        <h2 id={`${id}-title`}>Install app</h2>
        <p className="muted">Runs a container image as a new app at a location.</p>
      </div>
      <div className="install-fields">
        <div className="field field-wide">
          <label htmlFor={`${id}-image`}>Image</label>
          <input
            {...inputProps('image', 'image')}
            type="text"
            placeholder="e.g. nginx:1.27"
            autoCapitalize="none"
            spellCheck={false}
            value={image}
            onChange={(e) => setImage(e.target.value)}
          />
          {fieldError('image')}
        </div>
        <div className="field field-wide">
          <label htmlFor={`${id}-location`}>Location</label>
          <input
            {...inputProps('location', 'location')}
            type="text"
            placeholder="e.g. wiki or wiki.example.com"
            autoCapitalize="none"
            spellCheck={false}
            value={location}
            onChange={(e) => setLocation(e.target.value)}
          />
          {fieldError('location')}
        </div>
        <fieldset className="field field-ports" aria-describedby={errors.ports ? `${id}-ports-error` : undefined}>
          <legend className="visually-hidden">Port (optional)</legend>
          <div className="field-pair">
            <div className="field field-narrow">
              <label htmlFor={`${id}-hostPort`}>Host port</label>
              <input
                {...inputProps('hostPort', 'ports')}
                type="number"
                inputMode="numeric"
                value={hostPort}
                onChange={(e) => setHostPort(e.target.value)}
              />
            </div>
            <div className="field">
              <label htmlFor={`${id}-envVar`}>Env var</label>
              <input
                {...inputProps('envVar', 'ports')}
                type="text"
                placeholder="e.g. PORT"
                autoCapitalize="characters"
                spellCheck={false}
                value={envVar}
                onChange={(e) => setEnvVar(e.target.value)}
              />
            </div>
          </div>
          {fieldError('ports')}
        </fieldset>
        <div className="field field-narrow">
          <label htmlFor={`${id}-cpuQuota`}>CPU quota (%)</label>
          <input
            {...inputProps('cpuQuota', 'cpuQuota')}
            type="number"
            inputMode="numeric"
            placeholder="100"
            value={cpuQuota}
            onChange={(e) => setCpuQuota(e.target.value)}
          />
          {fieldError('cpuQuota')}
        </div>
        <div className="field field-narrow">
          <label htmlFor={`${id}-memoryLimit`}>Memory (MiB)</label>
          <input
            {...inputProps('memoryLimit', 'memoryLimit')}
            type="number"
            inputMode="numeric"
            placeholder="256"
            value={memory}
            onChange={(e) => setMemory(e.target.value)}
          />
          {fieldError('memoryLimit')}
        </div>
        <div className="field field-submit">
          <button type="submit" className="button primary" disabled={fetching}>
            {fetching ? 'Installing…' : 'Install'}
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
          Installing {started.location}: task{' '}
          <Link to={`/tasks/${encodeURIComponent(started.task.id)}`} data-testid="install-task" data-task-id={started.task.id}>
            {started.task.id}
          </Link>
          .
        </p>
      )}
    </form>
  );
}
