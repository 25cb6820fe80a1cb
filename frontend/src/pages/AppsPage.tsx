import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useClient, useMutation, useQuery } from 'urql';
import { graphql, getFragmentData, type FragmentType } from '../gql';
import type { AppRowFieldsFragment } from '../gql/graphql';
import { errorMessage, isUnauthenticated } from '../client';
import { formatBytes, formatPercent, stateLabel, stateTone } from '../format';
import { useSession } from '../session';
import { useLiveSubscription, useOnConnected } from '../live';
import { canSeeAllTasks, firstError, isFinished } from '../tasks';
import {
  appTaskFieldsFragment,
  busyLabel,
  mergeAppTasks,
  pendingCommandFieldsFragment,
  type AppTask,
  type PendingCommand,
} from '../apps';
import { InstallAppForm } from '../components/InstallAppForm';
import { LiveIndicator } from './TasksPage';

// An app's row. Its unfinished tasks are private to admins and the app's operators, so
// only admins ask for them here; users see the tasks they start from this view.
const appRowFieldsFragment = graphql(`
  fragment AppRowFields on App {
    id
    location
    image
    installationState
    runState
    cpuQuota
    memoryLimit
    notes
    error {
      code
      message
    }
    tasks(first: 20, where: { stateIn: [pending, waiting, running] }) @include(if: $admin) {
      edges {
        node {
          ...AppTaskFields
        }
      }
    }
  }
`);

const appsQueryDocument = graphql(`
  query Apps($first: Int!, $admin: Boolean!) {
    apps(first: $first) {
      totalCount
      edges {
        node {
          ...AppRowFields
        }
      }
    }
    commands(first: 500, where: { isConsumed: false }) @include(if: $admin) {
      edges {
        node {
          ...PendingCommandFields
        }
      }
    }
  }
`);

const appRowQueryDocument = graphql(`
  query AppRow($id: ID!, $target: String!, $admin: Boolean!) {
    node(id: $id) {
      ... on App {
        ...AppRowFields
      }
    }
    commands(first: 100, where: { target: $target, isConsumed: false }) @include(if: $admin) {
      edges {
        node {
          ...PendingCommandFields
        }
      }
    }
  }
`);

// Admins see every task change; a user follows the tasks started here, one by one.
const appTasksChangedSubscriptionDocument = graphql(`
  subscription AppTasksChanged {
    tasksChanged {
      ...AppTaskFields
    }
  }
`);

const appTaskUpdatedSubscriptionDocument = graphql(`
  subscription AppTaskUpdated($id: ID!) {
    taskUpdated(id: $id) {
      ...AppTaskFields
    }
  }
`);

const startAppMutationDocument = graphql(`
  mutation StartApp($id: ID!) {
    startApp(id: $id) {
      ...AppTaskFields
    }
  }
`);

const stopAppMutationDocument = graphql(`
  mutation StopApp($id: ID!) {
    stopApp(id: $id) {
      ...AppTaskFields
    }
  }
`);

const restartAppMutationDocument = graphql(`
  mutation RestartApp($id: ID!) {
    restartApp(id: $id) {
      ...AppTaskFields
    }
  }
`);

const PAGE_SIZE = 50;

type AppRow = AppRowFieldsFragment;
type Action = 'start' | 'stop' | 'restart';

const ACTION_LABELS: Record<Action, string> = { start: 'Starting…', stop: 'Stopping…', restart: 'Restarting…' };

function unmaskApp(app: FragmentType<typeof appRowFieldsFragment>): AppRow {
  return getFragmentData(appRowFieldsFragment, app);
}

function serverTasks(app: AppRow): AppTask[] {
  return (app.tasks?.edges ?? []).flatMap((edge) =>
    edge?.node ? [getFragmentData(appTaskFieldsFragment, edge.node)] : [],
  );
}

function commandsOf(
  edges: readonly ({ node?: FragmentType<typeof pendingCommandFieldsFragment> | null } | null)[] | null | undefined,
): PendingCommand[] {
  return (edges ?? []).flatMap((edge) => (edge?.node ? [getFragmentData(pendingCommandFieldsFragment, edge.node)] : []));
}

function StatePill({ value, testId }: { value: string | null | undefined; testId?: string }) {
  if (!value) return <span className="muted">—</span>;
  return (
    <span className={`pill pill-${stateTone(value)}`} data-testid={testId}>
      {stateLabel(value)}
    </span>
  );
}

export function AppsPage() {
  const client = useClient();
  const { user } = useSession();
  const admin = canSeeAllTasks(user.role);
  const [{ data, fetching, error }, reexecute] = useQuery({
    query: appsQueryDocument,
    variables: { first: PAGE_SIZE, admin },
    requestPolicy: 'cache-and-network',
  });

  // Rows refreshed one by one after the list loaded, the unconsumed commands per app, and
  // the tasks seen live (events, mutation results): all newer than the list.
  const [rows, setRows] = useState<ReadonlyMap<string, AppRow | null>>(new Map());
  const [commands, setCommands] = useState<ReadonlyMap<string, PendingCommand[]>>(new Map());
  const [liveTasks, setLiveTasks] = useState<ReadonlyMap<string, AppTask>>(new Map());
  const [requested, setRequested] = useState<ReadonlyMap<string, Action>>(new Map());
  const [actionErrors, setActionErrors] = useState<ReadonlyMap<string, string>>(new Map());

  const listApps = useMemo(
    () => data?.apps.edges?.flatMap((edge) => (edge?.node ? [unmaskApp(edge.node)] : [])) ?? [],
    [data],
  );

  // A new list replaces what was refreshed before it.
  useEffect(() => {
    if (!data) return;
    setRows(new Map());
    const byTarget = new Map<string, PendingCommand[]>();
    for (const c of commandsOf(data.commands?.edges)) byTarget.set(c.target, [...(byTarget.get(c.target) ?? []), c]);
    setCommands(byTarget);
  }, [data]);

  const apps = useMemo(
    () => listApps.flatMap((app) => (rows.has(app.id) ? (rows.get(app.id) ? [rows.get(app.id)!] : []) : [app])),
    [listApps, rows],
  );
  const knownIds = useRef(new Set<string>());
  knownIds.current = new Set(listApps.map((a) => a.id));

  const refreshList = useCallback(() => reexecute({ requestPolicy: 'network-only' }), [reexecute]);

  // One refresh per app at a time; a change meanwhile refreshes it once more afterwards.
  const inflight = useRef(new Map<string, 'busy' | 'dirty'>());
  const refreshRow = useCallback(
    (id: string) => {
      if (inflight.current.has(id)) {
        inflight.current.set(id, 'dirty');
        return;
      }
      inflight.current.set(id, 'busy');
      const run = async (): Promise<void> => {
        const result = await client
          .query(appRowQueryDocument, { id, target: id, admin }, { requestPolicy: 'network-only' })
          .toPromise();
        if (result.data) {
          const node = result.data.node;
          const app = node && 'id' in node ? unmaskApp(node) : null;
          setRows((prev) => new Map(prev).set(id, app));
          if (admin) setCommands((prev) => new Map(prev).set(id, commandsOf(result.data?.commands?.edges)));
        }
        if (inflight.current.get(id) === 'dirty') {
          inflight.current.set(id, 'busy');
          return run();
        }
        inflight.current.delete(id);
      };
      void run().catch(() => inflight.current.delete(id));
    },
    [client, admin],
  );

  const onTask = useCallback(
    (task: AppTask) => {
      const appId = task.app?.id;
      if (!appId) return;
      setLiveTasks((prev) => {
        const cur = prev.get(task.id);
        const [chosen] = mergeAppTasks(cur ? [cur] : [], [task]);
        return chosen === cur ? prev : new Map(prev).set(task.id, chosen);
      });
      if (knownIds.current.has(appId)) refreshRow(appId);
      else refreshList();
    },
    [refreshRow, refreshList],
  );

  const live = useLiveSubscription(
    appTasksChangedSubscriptionDocument,
    {},
    (d) => onTask(getFragmentData(appTaskFieldsFragment, d.tasksChanged)),
    admin,
  );

  // Catch up after the socket (re)connects: changes made meanwhile were not pushed.
  useOnConnected(refreshList);

  const [, startApp] = useMutation(startAppMutationDocument);
  const [, stopApp] = useMutation(stopAppMutationDocument);
  const [, restartApp] = useMutation(restartAppMutationDocument);

  async function act(app: AppRow, action: Action) {
    setRequested((prev) => new Map(prev).set(app.id, action));
    setActionErrors((prev) => {
      const next = new Map(prev);
      next.delete(app.id);
      return next;
    });
    const run = action === 'start' ? startApp : action === 'stop' ? stopApp : restartApp;
    const result = await run({ id: app.id });
    const data = result.data;
    const task = data && ('startApp' in data ? data.startApp : 'stopApp' in data ? data.stopApp : data.restartApp);
    if (task) onTask(getFragmentData(appTaskFieldsFragment, task));
    else {
      const message = result.error ? firstError(result.error).message : 'The server did not start a task.';
      setActionErrors((prev) => new Map(prev).set(app.id, `Could not ${action} ${app.location}: ${message}`));
    }
    setRequested((prev) => {
      const next = new Map(prev);
      next.delete(app.id);
      return next;
    });
    refreshRow(app.id);
  }

  const onInstalled = useCallback(
    (task: AppTask) => {
      onTask(task);
      refreshList();
    },
    [onTask, refreshList],
  );

  const tasksByApp = useMemo(() => {
    const map = new Map<string, AppTask[]>();
    for (const t of liveTasks.values()) {
      const id = t.app?.id;
      if (id) map.set(id, [...(map.get(id) ?? []), t]);
    }
    return map;
  }, [liveTasks]);

  // Users follow the unfinished tasks they started here.
  const followed = admin ? [] : [...liveTasks.values()].filter((t) => !isFinished(t.state));

  const total = data?.apps.totalCount ?? 0;
  const showNotes = apps.some((app) => !!app.notes);

  return (
    <section className="page" aria-labelledby="apps-title">
      <div className="page-header">
        <h1 id="apps-title">
          Apps {data && <span className="count">{total}</span>}
        </h1>
        <div className="page-actions">
          {admin && <LiveIndicator state={live.state} />}
          <button type="button" className="button" onClick={refreshList} disabled={fetching}>
            {fetching && data ? 'Refreshing…' : 'Refresh'}
          </button>
        </div>
      </div>

      {followed.map((t) => (
        <TaskFollower key={t.id} id={t.id} onTask={onTask} />
      ))}

      {admin && <InstallAppForm onInstalled={onInstalled} />}

      {error && !isUnauthenticated(error) && (
        <p className="error" role="alert">
          Could not load the apps: {errorMessage(error)}
        </p>
      )}
      {live.state === 'error' && (
        <p className="error" role="alert">
          Live updates stopped: {live.message}
        </p>
      )}

      {!data && fetching && (
        <p className="muted" role="status">
          Loading apps…
        </p>
      )}

      {data && total === 0 && (
        <div className="empty">
          <p className="empty-title">No apps installed yet</p>
          <p className="muted">Apps you install will show up here.</p>
        </div>
      )}

      {data && total > 0 && (
        <div className="table-wrap">
          <table className="table apps-table" aria-labelledby="apps-title">
            <thead>
              <tr>
                <th scope="col">Location</th>
                <th scope="col">Image</th>
                <th scope="col">Installation</th>
                <th scope="col">Run state</th>
                <th scope="col" className="num">
                  CPU
                </th>
                <th scope="col" className="num">
                  Memory
                </th>
                {showNotes && <th scope="col">Notes</th>}
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {apps.map((app) => {
                const tasks = mergeAppTasks(serverTasks(app), tasksByApp.get(app.id) ?? []);
                const pending = requested.get(app.id);
                const busy = pending ? ACTION_LABELS[pending] : busyLabel(commands.get(app.id) ?? [], tasks);
                return (
                  <AppRowView
                    key={app.id}
                    app={app}
                    busy={busy}
                    showNotes={showNotes}
                    actionError={actionErrors.get(app.id)}
                    onAction={(action) => void act(app, action)}
                  />
                );
              })}
            </tbody>
          </table>
          {listApps.length < total && (
            <p className="muted table-foot">
              Showing the first {listApps.length} of {total} apps.
            </p>
          )}
        </div>
      )}
    </section>
  );
}

function TaskFollower({ id, onTask }: { id: string; onTask: (task: AppTask) => void }) {
  useLiveSubscription(appTaskUpdatedSubscriptionDocument, { id }, (d) =>
    onTask(getFragmentData(appTaskFieldsFragment, d.taskUpdated)),
  );
  return null;
}

interface AppRowViewProps {
  app: AppRow;
  busy: string | null;
  showNotes: boolean;
  actionError?: string;
  onAction: (action: Action) => void;
}

function AppRowView({ app, busy, showNotes, actionError, onAction }: AppRowViewProps) {
  const running = app.runState === 'running';
  const installed = app.installationState === 'installed' || app.installationState === 'error';
  const blocked = busy != null || !installed;
  return (
    <tr
      data-app-id={app.id}
      data-location={app.location}
      data-run-state={app.runState}
      data-installation-state={app.installationState}
      aria-busy={busy != null || undefined}
    >
      <th scope="row" className="app-location">
        {app.location || <span className="muted">—</span>}
      </th>
      <td className="mono">{app.image}</td>
      <td>
        <StatePill value={app.installationState} testId="installation-state" />
        {app.error && (
          <p className="app-error" title={app.error.code}>
            {app.error.message}
          </p>
        )}
      </td>
      <td>
        <StatePill value={app.runState} testId="run-state" />
      </td>
      <td className="num">{formatPercent(app.cpuQuota)}</td>
      <td className="num">{formatBytes(app.memoryLimit)}</td>
      {showNotes && <td className="notes">{app.notes}</td>}
      <td className="actions app-actions">
        <div className="app-buttons" role="group" aria-label={`Actions for ${app.location}`}>
          <button
            type="button"
            className="button small"
            disabled={blocked || running}
            onClick={() => onAction('start')}
          >
            Start
          </button>
          <button
            type="button"
            className="button small"
            disabled={blocked || !running}
            onClick={() => onAction('stop')}
          >
            Stop
          </button>
          <button type="button" className="button small" disabled={blocked} onClick={() => onAction('restart')}>
            Restart
          </button>
        </div>
        {busy && (
          <span className="app-busy" role="status" data-testid="app-busy">
            {busy}
          </span>
        )}
        {actionError && (
          <p className="app-error" role="alert">
            {actionError}
          </p>
        )}
      </td>
    </tr>
  );
}
