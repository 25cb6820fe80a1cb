// Apps: the fields the Apps view shows, and what an app is busy with (queued commands,
// unfinished tasks).
import { graphql } from './gql';
import type { TaskState, TaskType } from './gql/graphql';
import { compareTimes, isFinished } from './tasks';

export const appTaskFieldsFragment = graphql(`
  fragment AppTaskFields on Task {
    id
    type
    state
    createdAt
    updatedAt
    app {
      id
    }
  }
`);

export const pendingCommandFieldsFragment = graphql(`
  fragment PendingCommandFields on Command {
    id
    command
    target
    createdAt
  }
`);

export interface AppTask {
  id: string;
  type: TaskType;
  state: TaskState;
  createdAt: string;
  updatedAt: string;
  app?: { id: string } | null;
}

export interface PendingCommand {
  id: string;
  command: string;
  target: string;
  createdAt: string;
}

const COMMAND_LABELS: Record<string, string> = {
  start: 'Starting…',
  stop: 'Stopping…',
  restart: 'Restarting…',
};

const TASK_LABELS: Partial<Record<TaskType, string>> = {
  install: 'Installing…',
  configure: 'Configuring…',
  start: 'Starting…',
  stop: 'Stopping…',
  restart: 'Restarting…',
  update: 'Updating…',
  uninstall: 'Uninstalling…',
  backup: 'Backing up…',
  restore: 'Restoring…',
  clone: 'Cloning…',
  unarchive: 'Unarchiving…',
  exec: 'Running a command…',
};

/** The newest version of each task, by updatedAt. */
export function mergeAppTasks(...lists: readonly (readonly AppTask[])[]): AppTask[] {
  const byId = new Map<string, AppTask>();
  for (const list of lists) {
    for (const t of list) {
      const cur = byId.get(t.id);
      if (!cur || compareTimes(t.updatedAt, cur.updatedAt) >= 0) byId.set(t.id, t);
    }
  }
  return [...byId.values()];
}

/**
 * What the app is busy with, as shown in its row ("Stopping…"), or null when it is idle.
 * The newest queued command counts first (of start/stop/restart only the last one takes
 * effect), then a running task, then the oldest queued one.
 */
export function busyLabel(commands: readonly PendingCommand[], tasks: readonly AppTask[]): string | null {
  if (commands.length > 0) {
    const latest = [...commands].sort((a, b) => compareTimes(b.createdAt, a.createdAt))[0];
    return COMMAND_LABELS[latest.command] ?? `${latest.command.charAt(0).toUpperCase()}${latest.command.slice(1)} queued…`;
  }
  const open = tasks.filter((t) => !isFinished(t.state));
  if (open.length === 0) return null;
  const task =
    open.find((t) => t.state === 'running') ?? [...open].sort((a, b) => compareTimes(a.createdAt, b.createdAt))[0];
  return TASK_LABELS[task.type] ?? 'Working…';
}
