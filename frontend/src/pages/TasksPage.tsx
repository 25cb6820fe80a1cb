import { useCallback, useEffect, useMemo, useReducer, useRef } from 'react';
import { useClient, useQuery } from 'urql';
import { graphql } from '../gql';
import { errorMessage, isUnauthenticated } from '../client';
import { Link } from '../router';
import { useLiveSubscription, useNow, useOnConnected } from '../live';
import {
  byCreatedDesc,
  formatFullTime,
  formatTime,
  isFinished,
  newerTask,
  taskDuration,
  taskTypeLabel,
  unmaskTask,
  type TaskFields,
} from '../tasks';
import { CancelButton, ProgressBar, TaskStatePill, useCancelTasks } from '../components/TaskBits';
import { DiagnosticForm } from '../components/DiagnosticForm';

const tasksQueryDocument = graphql(`
  query Tasks($first: Int!) {
    tasks(first: $first, orderBy: [{ field: CREATED_AT, direction: DESC }]) {
      totalCount
      edges {
        node {
          ...TaskFields
        }
      }
    }
  }
`);

const tasksChangedSubscriptionDocument = graphql(`
  subscription TasksChanged {
    tasksChanged {
      ...TaskFields
    }
  }
`);

// Abort commands for tasks that have not finished: those tasks are being cancelled,
// whoever asked (another tab, the CLI).
const abortCommandsQueryDocument = graphql(`
  query AbortCommands($targets: [String!]!) {
    commands(first: 100, where: { command: "abort", targetIn: $targets }) {
      edges {
        node {
          id
          target
        }
      }
    }
  }
`);

const PAGE_SIZE = 50;
// Tasks seen live are added to the list; it shows at most this many, newest first.
const MAX_ROWS = 200;

type TaskMap = ReadonlyMap<string, TaskFields>;

/** Keeps the newest version of each task seen, from the list query and the live feed. */
function mergeTasks(state: TaskMap, tasks: readonly TaskFields[]): TaskMap {
  let next: Map<string, TaskFields> | null = null;
  for (const task of tasks) {
    const current = (next ?? state).get(task.id);
    const chosen = newerTask(current, task);
    if (chosen === current) continue;
    next ??= new Map(state);
    next.set(task.id, chosen);
  }
  return next ?? state;
}

export function TasksPage() {
  const client = useClient();
  const [tasks, merge] = useReducer(mergeTasks, new Map<string, TaskFields>());
  const [{ data, fetching, error }, reexecute] = useQuery({
    query: tasksQueryDocument,
    variables: { first: PAGE_SIZE },
    requestPolicy: 'network-only',
  });

  useEffect(() => {
    const edges = data?.tasks.edges ?? [];
    merge(edges.flatMap((edge) => (edge?.node ? [unmaskTask(edge.node)] : [])));
  }, [data]);

  const live = useLiveSubscription(tasksChangedSubscriptionDocument, {}, (d) => merge([unmaskTask(d.tasksChanged)]));

  // Catch up after the socket (re)connects: changes made meanwhile were not pushed.
  useOnConnected(useCallback(() => reexecute({ requestPolicy: 'network-only' }), [reexecute]));

  const { cancelling, cancel, mark, error: cancelError } = useCancelTasks();

  // Once, for the first list: which unfinished tasks already have an abort command.
  const abortsChecked = useRef(false);
  useEffect(() => {
    if (abortsChecked.current || !data) return;
    abortsChecked.current = true;
    const targets = (data.tasks.edges ?? []).flatMap((edge) => {
      const task = edge?.node ? unmaskTask(edge.node) : null;
      return task && !isFinished(task.state) ? [task.id] : [];
    });
    if (targets.length === 0) return;
    void client
      .query(abortCommandsQueryDocument, { targets }, { requestPolicy: 'network-only' })
      .toPromise()
      .then((result) => {
        const ids = result.data?.commands.edges?.flatMap((edge) => (edge?.node ? [edge.node.target] : [])) ?? [];
        if (ids.length > 0) mark(ids);
      });
  }, [client, data, mark]);

  const rows = useMemo(() => [...tasks.values()].sort(byCreatedDesc).slice(0, MAX_ROWS), [tasks]);
  const anyRunning = rows.some((t) => t.startedAt && !t.finishedAt);
  const now = useNow(anyRunning);

  const onStarted = useCallback((task: TaskFields) => merge([task]), []);

  return (
    <section className="page" aria-labelledby="tasks-title">
      <div className="page-header">
        <h1 id="tasks-title">Tasks</h1>
        <LiveIndicator state={live.state} />
      </div>

      <DiagnosticForm onStarted={onStarted} />

      {error && !isUnauthenticated(error) && (
        <p className="error" role="alert">
          Could not load the tasks: {errorMessage(error)}
        </p>
      )}
      {live.state === 'error' && (
        <p className="error" role="alert">
          Live updates stopped: {live.message}
        </p>
      )}
      {cancelError && (
        <p className="error" role="alert">
          {cancelError}
        </p>
      )}

      {!data && fetching && rows.length === 0 && (
        <p className="muted" role="status">
          Loading tasks…
        </p>
      )}

      {data && rows.length === 0 && (
        <div className="empty">
          <p className="empty-title">No tasks yet</p>
          <p className="muted">Installs, backups, updates and diagnostics show up here while they run.</p>
        </div>
      )}

      {rows.length > 0 && (
        <div className="table-wrap">
          <table className="table tasks-table" aria-labelledby="tasks-title">
            <thead>
              <tr>
                <th scope="col">Type</th>
                <th scope="col">State</th>
                <th scope="col" className="col-progress">
                  Progress
                </th>
                <th scope="col">Message</th>
                <th scope="col">Created</th>
                <th scope="col" className="num">
                  Duration
                </th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((task) => (
                <TaskRow
                  key={task.id}
                  task={task}
                  now={now}
                  cancelling={cancelling.has(task.id)}
                  onCancel={() => void cancel(task.id)}
                />
              ))}
            </tbody>
          </table>
          {data && data.tasks.totalCount > rows.length && (
            <p className="muted table-foot">Showing the {rows.length} most recent tasks.</p>
          )}
        </div>
      )}
    </section>
  );
}

interface TaskRowProps {
  task: TaskFields;
  now: number;
  cancelling: boolean;
  onCancel: () => void;
}

function TaskRow({ task, now, cancelling, onCancel }: TaskRowProps) {
  const finished = isFinished(task.state);
  const waiting = task.state === 'pending' || task.state === 'waiting';
  const failed = task.state === 'failed' || task.state === 'crashed';
  const message = failed && task.error ? task.error.message : task.message;
  return (
    <tr data-task-id={task.id} data-state={task.state}>
      <th scope="row" className="task-type">
        <Link to={`/tasks/${encodeURIComponent(task.id)}`} title={task.id}>
          {taskTypeLabel(task.type)}
        </Link>
      </th>
      <td>
        <TaskStatePill state={task.state} />
      </td>
      <td className="col-progress">
        <ProgressBar percent={task.percent} state={task.state} label={`Progress of ${taskTypeLabel(task.type)} task`} />
      </td>
      <td className={`task-message${waiting ? ' task-message-waiting' : ''}${failed ? ' task-message-error' : ''}`}>
        {message || <span className="muted">—</span>}
      </td>
      <td className="nowrap" title={formatFullTime(task.createdAt)}>
        <time dateTime={task.createdAt}>{formatTime(task.createdAt)}</time>
      </td>
      <td className="num">{taskDuration(task, now)}</td>
      <td className="actions">{!finished && <CancelButton small cancelling={cancelling} onCancel={onCancel} />}</td>
    </tr>
  );
}

export function LiveIndicator({ state }: { state: string }) {
  const label =
    state === 'live' ? 'Live' : state === 'connecting' ? 'Connecting…' : state === 'complete' ? 'Ended' : 'Offline';
  return (
    <span className={`live live-${state}`} data-testid="live-indicator">
      <span className="live-dot" aria-hidden="true" />
      {label}
    </span>
  );
}
