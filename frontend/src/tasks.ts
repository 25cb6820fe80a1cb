// Tasks: the fields the views show, and helpers to merge live versions and display them.
import type { CombinedError } from 'urql';
import { graphql, getFragmentData, type FragmentType } from './gql';
import type { TaskFieldsFragment, TaskState } from './gql/graphql';

export const taskFieldsFragment = graphql(`
  fragment TaskFields on Task {
    id
    type
    state
    percent
    message
    error {
      code
      message
      step
    }
    lockKeys
    logLines
    createdAt
    updatedAt
    startedAt
    finishedAt
  }
`);

export type TaskFields = TaskFieldsFragment;

export function unmaskTask(task: FragmentType<typeof taskFieldsFragment>): TaskFields {
  return getFragmentData(taskFieldsFragment, task);
}

export const cancelTaskMutationDocument = graphql(`
  mutation CancelTask($id: ID!) {
    cancelTask(id: $id) {
      id
      command
      target
      isConsumed
    }
  }
`);

const FINISHED: ReadonlySet<TaskState> = new Set<TaskState>(['succeeded', 'failed', 'cancelled', 'crashed']);

export function isFinished(state: TaskState): boolean {
  return FINISHED.has(state);
}

const TONES: Record<TaskState, string> = {
  pending: 'idle',
  waiting: 'busy',
  running: 'info',
  succeeded: 'ok',
  failed: 'bad',
  crashed: 'bad',
  cancelled: 'idle',
};

/** The pill colour of a task state: idle | busy | info | ok | bad. */
export function taskTone(state: TaskState): string {
  return TONES[state] ?? 'idle';
}

/** "running" -> "running"; the CSS capitalises it. */
export function stateLabelOf(state: TaskState): string {
  return state.toLowerCase();
}

/** "full_backup" -> "full backup". */
export function taskTypeLabel(type: string): string {
  return type.toLowerCase().replace(/_/g, ' ');
}

/**
 * A sortable key for an RFC 3339 time with up to nanosecond precision (Date.parse keeps
 * milliseconds only, and the server's updatedAt often differs by less).
 */
function timeKey(iso: string): [number, string] {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(.*)$/.exec(iso);
  if (!m) return [Date.parse(iso) || 0, ''];
  return [Date.parse(m[1] + m[3]) || 0, (m[2] ?? '').padEnd(9, '0')];
}

export function compareTimes(a: string, b: string): number {
  const [as, af] = timeKey(a);
  const [bs, bf] = timeKey(b);
  return as !== bs ? as - bs : af < bf ? -1 : af > bf ? 1 : 0;
}

/** The later of two versions of a task (by updatedAt); `next` on a tie. */
export function newerTask(current: TaskFields | undefined, next: TaskFields): TaskFields {
  if (!current) return next;
  return compareTimes(next.updatedAt, current.updatedAt) >= 0 ? next : current;
}

/** Newest first. */
export function byCreatedDesc(a: TaskFields, b: TaskFields): number {
  return compareTimes(b.createdAt, a.createdAt) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.round(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(Math.floor(s % 60)).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** Run time: start to finish, or start to now while running; "—" before it started. */
export function taskDuration(task: TaskFields, now: number): string {
  if (!task.startedAt) return '—';
  const end = task.finishedAt ? Date.parse(task.finishedAt) : now;
  return formatDuration(end - Date.parse(task.startedAt));
}

const timeOnly = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const dateTime = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

/** Time of day for today, date and time otherwise. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toDateString() === new Date().toDateString() ? timeOnly.format(d) : dateTime.format(d);
}

export function formatFullTime(iso: string | null | undefined): string | undefined {
  if (!iso) return undefined;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/** The first GraphQL error's code and message, or a network message. */
export function firstError(error: CombinedError): { code?: string; field?: string; message: string } {
  if (error.networkError) {
    return { message: 'Cannot reach the berth server. Check your connection and try again.' };
  }
  const first = error.graphQLErrors[0];
  const code = typeof first?.extensions?.code === 'string' ? first.extensions.code : undefined;
  const field = typeof first?.extensions?.field === 'string' ? first.extensions.field : undefined;
  return { code, field, message: first?.message || error.message };
}

export function canSeeAllTasks(role: string): boolean {
  return role.toLowerCase() !== 'user';
}
