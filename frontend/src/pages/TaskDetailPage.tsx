import { useCallback, useEffect, useLayoutEffect, useReducer, useRef, useState } from 'react';
import { useClient, useQuery } from 'urql';
import { graphql } from '../gql';
import { errorMessage, isUnauthenticated } from '../client';
import { Link } from '../router';
import { useSession } from '../session';
import { useLiveSubscription, useNow, useOnConnected, type LiveStatus } from '../live';
import {
  canSeeAllTasks,
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

const taskQueryDocument = graphql(`
  query Task($id: ID!) {
    task(id: $id) {
      ...TaskFields
    }
  }
`);

const taskUpdatedSubscriptionDocument = graphql(`
  subscription TaskUpdated($id: ID!) {
    taskUpdated(id: $id) {
      ...TaskFields
    }
  }
`);

const taskLogSubscriptionDocument = graphql(`
  subscription TaskLog($id: ID!, $fromLine: Int!) {
    taskLog(id: $id, fromLine: $fromLine) {
      line
      text
    }
  }
`);

const pendingAbortQueryDocument = graphql(`
  query PendingAbort($target: String!) {
    commands(first: 1, where: { command: "abort", target: $target }) {
      totalCount
    }
  }
`);

export function TaskDetailPage({ id }: { id: string }) {
  const { user } = useSession();
  const admin = canSeeAllTasks(user.role);
  const client = useClient();
  const [task, setTask] = useReducer(
    (current: TaskFields | undefined, next: TaskFields) => newerTask(current, next),
    undefined,
  );
  const [{ data, fetching, error }, reexecute] = useQuery({
    query: taskQueryDocument,
    variables: { id },
    requestPolicy: 'network-only',
  });
  useEffect(() => {
    if (data?.task) setTask(unmaskTask(data.task));
  }, [data]);

  const finished = task ? isFinished(task.state) : false;
  const updates = useLiveSubscription(taskUpdatedSubscriptionDocument, { id }, (d) => setTask(unmaskTask(d.taskUpdated)));
  useOnConnected(
    useCallback(() => {
      if (!finished) reexecute({ requestPolicy: 'network-only' });
    }, [finished, reexecute]),
  );

  const { cancelling, cancel, mark, error: cancelError } = useCancelTasks();
  // An abort command already enqueued (another tab, the CLI): the task is being cancelled.
  const unfinishedSeen = task != null && !finished;
  useEffect(() => {
    if (!admin || !unfinishedSeen) return;
    void client
      .query(pendingAbortQueryDocument, { target: id }, { requestPolicy: 'network-only' })
      .toPromise()
      .then((result) => {
        if ((result.data?.commands.totalCount ?? 0) > 0) mark([id]);
      });
  }, [admin, client, id, mark, unfinishedSeen]);

  const now = useNow(task != null && task.startedAt != null && !task.finishedAt);

  const back = admin ? (
    <Link to="/tasks" className="back">
      ← Tasks
    </Link>
  ) : (
    <Link to="/apps" className="back">
      ← Apps
    </Link>
  );

  if (!task) {
    return (
      <section className="page" aria-labelledby="task-title">
        {back}
        <h1 id="task-title">Task</h1>
        {fetching && (
          <p className="muted" role="status">
            Loading the task…
          </p>
        )}
        {error && !isUnauthenticated(error) && (
          <p className="error" role="alert">
            Could not load the task: {errorMessage(error)}
          </p>
        )}
        {data && !data.task && !error && (
          <div className="empty">
            <p className="empty-title">Task not found</p>
            <p className="muted">It may have been removed, or you may not have access to it.</p>
          </div>
        )}
      </section>
    );
  }

  return (
    <section className="page" aria-labelledby="task-title">
      {back}
      <div className="page-header">
        <h1 id="task-title">
          <span className="capitalize">{taskTypeLabel(task.type)}</span> task <TaskStatePill state={task.state} />
        </h1>
        {!finished && <CancelButton cancelling={cancelling.has(task.id)} onCancel={() => void cancel(task.id)} />}
      </div>

      {cancelError && (
        <p className="error" role="alert">
          {cancelError}
        </p>
      )}
      {updates.state === 'error' && (
        <p className="error" role="alert">
          Live updates stopped: {updates.message}
        </p>
      )}

      <div className="card task-summary">
        <ProgressBar percent={task.percent} state={task.state} label="Progress" large />
        <p className={`task-summary-message${task.state === 'waiting' || task.state === 'pending' ? ' task-message-waiting' : ''}`}>
          {task.message || <span className="muted">No message</span>}
        </p>
        {task.error && (
          <div
            className={`task-failure${task.state === 'cancelled' ? ' task-failure-quiet' : ''}`}
            role={task.state === 'cancelled' ? 'status' : 'alert'}
            data-testid="task-error"
          >
            <span className="task-failure-code mono">{task.error.code}</span>
            <span>{task.error.message}</span>
            {task.error.step && <span className="muted"> (step: {task.error.step})</span>}
          </div>
        )}
        <dl className="facts">
          <div>
            <dt>ID</dt>
            <dd className="mono">{task.id}</dd>
          </div>
          <div>
            <dt>Created</dt>
            <dd title={formatFullTime(task.createdAt)}>{formatTime(task.createdAt)}</dd>
          </div>
          <div>
            <dt>Started</dt>
            <dd title={formatFullTime(task.startedAt)}>{formatTime(task.startedAt)}</dd>
          </div>
          <div>
            <dt>Finished</dt>
            <dd title={formatFullTime(task.finishedAt)}>{formatTime(task.finishedAt)}</dd>
          </div>
          <div>
            <dt>Duration</dt>
            <dd>{taskDuration(task, now)}</dd>
          </div>
          {task.lockKeys && task.lockKeys.length > 0 && (
            <div>
              <dt>Locks</dt>
              <dd className="mono">{task.lockKeys.join(', ')}</dd>
            </div>
          )}
        </dl>
      </div>

      <TaskLog id={task.id} />
    </section>
  );
}

// The log: lines arrive one by one; they are buffered and rendered once per frame.
interface LogState {
  lines: (string | undefined)[];
}

function TaskLog({ id }: { id: string }) {
  const [log, setLog] = useState<LogState>({ lines: [] });
  const pending = useRef(new Map<number, string>());
  const frame = useRef<number | null>(null);

  const flush = useCallback(() => {
    frame.current = null;
    const batch = pending.current;
    if (batch.size === 0) return;
    pending.current = new Map();
    setLog((prev) => {
      let lines: (string | undefined)[] | null = null;
      for (const [line, text] of batch) {
        // A re-subscription after a dropped connection sends the log again: keep one copy.
        if (line < 1 || prev.lines[line - 1] === text) continue;
        lines ??= prev.lines.slice();
        lines[line - 1] = text;
      }
      return lines ? { lines } : prev;
    });
  }, []);

  useEffect(
    () => () => {
      if (frame.current !== null) cancelAnimationFrame(frame.current);
    },
    [],
  );

  const status = useLiveSubscription(taskLogSubscriptionDocument, { id, fromLine: 0 }, (d) => {
    pending.current.set(d.taskLog.line, d.taskLog.text);
    frame.current ??= requestAnimationFrame(flush);
  });

  // Keep the newest line in view unless the reader has scrolled up.
  const panel = useRef<HTMLPreElement>(null);
  const stick = useRef(true);
  useLayoutEffect(() => {
    const el = panel.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [log]);

  const count = log.lines.length;
  return (
    <section className="log-section" aria-labelledby="task-log-title">
      <div className="log-header">
        <h2 id="task-log-title">Log</h2>
        <LogStatus status={status} count={count} />
      </div>
      <pre
        ref={panel}
        className="log"
        role="log"
        aria-labelledby="task-log-title"
        tabIndex={0}
        data-testid="task-log"
        onScroll={(e) => {
          const el = e.currentTarget;
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
        }}
      >
        {count === 0 ? (
          <span className="log-empty">{status.state === 'complete' ? 'The task wrote no log.' : 'Waiting for output…'}</span>
        ) : (
          log.lines.map((text, i) => (
            <span className="log-line" key={i} data-line={i + 1}>
              <span className="log-no" aria-hidden="true">
                {i + 1}
              </span>
              {text ?? ''}
              {'\n'}
            </span>
          ))
        )}
      </pre>
    </section>
  );
}

function LogStatus({ status, count }: { status: LiveStatus; count: number }) {
  const lines = `${count} ${count === 1 ? 'line' : 'lines'}`;
  switch (status.state) {
    case 'connecting':
      return <span className="live live-connecting">Connecting…</span>;
    case 'live':
      return (
        <span className="live live-live" data-testid="log-status">
          <span className="live-dot" aria-hidden="true" />
          Following · {lines}
        </span>
      );
    case 'complete':
      return (
        <span className="live live-complete" data-testid="log-status">
          Complete · {lines}
        </span>
      );
    case 'error':
      return (
        <span className="live live-error" role="alert" data-testid="log-status">
          Log unavailable: {status.message}
        </span>
      );
  }
}
