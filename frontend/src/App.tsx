import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Provider } from 'urql';
import { createSessionClient, isUnauthenticated, setAuthToken, type SessionClient } from './client';
import { navigate, safeNext, useLocation } from './router';
import { SessionContext, meQueryDocument, type SessionContextValue, type SessionUser } from './session';
import { graphql } from './gql';
import { LoginPage } from './pages/LoginPage';
import { Shell } from './components/Shell';
import { AppsPage } from './pages/AppsPage';
import { NotFoundPage } from './pages/NotFoundPage';
import { ForbiddenPage } from './pages/ForbiddenPage';
import { TasksPage } from './pages/TasksPage';
import { TaskDetailPage } from './pages/TaskDetailPage';
import { LiveContext, type Live } from './live';
import { canSeeAllTasks } from './tasks';

const logoutMutationDocument = graphql(`
  mutation Logout {
    logout
  }
`);

/** The view for a path inside the signed-in shell. */
function routeView(pathname: string, user: SessionUser) {
  if (pathname === '/apps') return <AppsPage />;
  if (pathname === '/tasks' || pathname === '/tasks/') {
    return canSeeAllTasks(user.role) ? <TasksPage /> : <ForbiddenPage what="the task list" />;
  }
  const taskMatch = /^\/tasks\/([^/]+)\/?$/.exec(pathname);
  if (taskMatch) {
    let id: string;
    try {
      id = decodeURIComponent(taskMatch[1]);
    } catch {
      return <NotFoundPage />;
    }
    // The server decides: admins see every task, an app's operators its tasks.
    return <TaskDetailPage key={id} id={id} />;
  }
  if (pathname === '/' || pathname === '/login') return null;
  return <NotFoundPage />;
}

type Session =
  | { status: 'checking' }
  | { status: 'unreachable'; message: string }
  | { status: 'anonymous'; notice?: string }
  | { status: 'authenticated'; user: SessionUser };

export function App() {
  const [session, setSession] = useState<Session>({ status: 'checking' });
  const statusRef = useRef(session.status);
  statusRef.current = session.status;

  // Any 401 / UNAUTHENTICATED while signed in ends the session and shows the login page.
  const unauthenticatedRef = useRef<() => void>(() => {});
  const clientRef = useRef<SessionClient | null>(null);
  if (clientRef.current === null) clientRef.current = createSessionClient(() => unauthenticatedRef.current());
  const [sessionClient, setSessionClient] = useState<SessionClient>(clientRef.current);

  const renewClient = useCallback(() => {
    const next = createSessionClient(() => unauthenticatedRef.current());
    clientRef.current?.dispose();
    clientRef.current = next;
    setSessionClient(next);
  }, []);

  const endSession = useCallback(
    (notice?: string) => {
      setAuthToken(null);
      renewClient();
      setSession({ status: 'anonymous', notice });
    },
    [renewClient],
  );

  unauthenticatedRef.current = () => {
    if (statusRef.current === 'authenticated') {
      statusRef.current = 'anonymous';
      endSession('Your session has ended. Please sign in again.');
    }
  };

  // On start-up (and on retry) ask the server who we are; the session cookie decides.
  useEffect(() => {
    if (session.status !== 'checking') return;
    let cancelled = false;
    sessionClient.client
      .query(meQueryDocument, {}, { requestPolicy: 'network-only' })
      .toPromise()
      .then((result) => {
        if (cancelled) return;
        if (result.data?.me) setSession({ status: 'authenticated', user: result.data.me });
        else if (!result.error || isUnauthenticated(result.error)) setSession({ status: 'anonymous' });
        else
          setSession({
            status: 'unreachable',
            message: result.error.networkError
              ? 'Cannot reach the berth server.'
              : result.error.graphQLErrors[0]?.message || result.error.message,
          });
      });
    return () => {
      cancelled = true;
    };
  }, [session.status, sessionClient]);

  const { pathname, search } = useLocation();
  const next = search.get('next');

  // Keep the URL in line with the session: /login when signed out, a view when signed in.
  useEffect(() => {
    if (session.status === 'anonymous' && pathname !== '/login') {
      const back = pathname === '/' ? '' : `?next=${encodeURIComponent(pathname + window.location.search)}`;
      navigate(`/login${back}`, { replace: true });
    } else if (session.status === 'authenticated' && (pathname === '/login' || pathname === '/')) {
      navigate(pathname === '/login' ? safeNext(next) : '/apps', { replace: true });
    }
  }, [session.status, pathname, next]);

  const onLoggedIn = useCallback(
    (user: SessionUser, token: string | null) => {
      setAuthToken(token);
      renewClient();
      setSession({ status: 'authenticated', user });
      navigate(safeNext(next), { replace: true });
    },
    [renewClient, next],
  );

  const logout = useCallback(async () => {
    // The server clears the cookie; whatever it answers, this tab is signed out.
    await sessionClient.client.mutation(logoutMutationDocument, {}).toPromise();
    statusRef.current = 'anonymous';
    endSession();
    navigate('/login', { replace: true });
  }, [sessionClient, endSession]);

  const live = useMemo<Live>(() => ({ ws: sessionClient.ws, connection: sessionClient.connection }), [sessionClient]);

  const sessionValue = useMemo<SessionContextValue | null>(
    () => (session.status === 'authenticated' ? { user: session.user, logout } : null),
    [session, logout],
  );

  let content;
  switch (session.status) {
    case 'checking':
      content = (
        <div className="splash" role="status">
          Loading…
        </div>
      );
      break;
    case 'unreachable':
      content = (
        <div className="splash">
          <div className="card splash-card">
            <h1>berth is not available</h1>
            <p role="alert" className="error">
              {session.message}
            </p>
            <button type="button" className="button primary" onClick={() => setSession({ status: 'checking' })}>
              Try again
            </button>
          </div>
        </div>
      );
      break;
    case 'anonymous':
      content = <LoginPage notice={session.notice} onLoggedIn={onLoggedIn} />;
      break;
    case 'authenticated':
      content = (
        <SessionContext.Provider value={sessionValue}>
          <LiveContext.Provider value={live}>
            <Shell>{routeView(pathname, session.user)}</Shell>
          </LiveContext.Provider>
        </SessionContext.Provider>
      );
      break;
  }

  return <Provider value={sessionClient.client}>{content}</Provider>;
}
