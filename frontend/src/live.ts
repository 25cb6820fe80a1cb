import { createContext, useContext, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import type { Client as WSClient } from 'graphql-ws';
import { stringifyDocument, type TypedDocumentNode } from 'urql';
import type { ConnectionStore } from './client';

// Live data over the session's graphql-transport-ws connection.
//
// Subscriptions go to graphql-ws directly rather than through urql: urql's useSubscription
// does not say when a stream completes, and the task views need that (a task's log and
// state streams end when the task finishes).

export interface Live {
  ws: WSClient;
  connection: ConnectionStore;
}

export const LiveContext = createContext<Live | null>(null);

function useLive(): Live {
  const live = useContext(LiveContext);
  if (!live) throw new Error('live data outside of a session');
  return live;
}

export type LiveStatus =
  | { state: 'connecting' }
  | { state: 'live' }
  | { state: 'complete' }
  | { state: 'error'; message: string; code?: string };

interface GraphQLErrorLike {
  message?: string;
  extensions?: { code?: unknown };
}

function describe(err: unknown): { message: string; code?: string } {
  if (Array.isArray(err) && err.length > 0) {
    const first = err[0] as GraphQLErrorLike;
    const code = typeof first.extensions?.code === 'string' ? first.extensions.code : undefined;
    return { message: first.message || 'The server refused the subscription.', code };
  }
  if (err instanceof Error) return { message: err.message };
  // A CloseEvent: the connection gave up (graphql-ws has already retried).
  const close = err as { code?: number; reason?: string } | undefined;
  if (close && typeof close.code === 'number') {
    return { message: close.reason || 'Lost the connection to the berth server.' };
  }
  return { message: 'Lost the connection to the berth server.' };
}

/**
 * Runs a subscription while the component is mounted (and `enabled`), calling onData with
 * each result's data. Re-subscribes when the variables change. graphql-ws re-subscribes by
 * itself after a dropped connection, so onData must tolerate seeing data again.
 */
export function useLiveSubscription<TData, TVars extends Record<string, unknown>>(
  document: TypedDocumentNode<TData, TVars>,
  variables: TVars,
  onData: (data: TData) => void,
  enabled = true,
): LiveStatus {
  const { ws, connection } = useLive();
  const connected = useSyncExternalStore(connection.subscribe, () => connection.get() === 'connected');
  const [status, setStatus] = useState<LiveStatus>({ state: 'connecting' });
  const onDataRef = useRef(onData);
  onDataRef.current = onData;
  const varsKey = JSON.stringify(variables);

  useEffect(() => {
    if (!enabled) return;
    setStatus({ state: 'connecting' });
    let active = true;
    const query = stringifyDocument(document);
    const unsubscribe = ws.subscribe<TData>(
      { query, variables: JSON.parse(varsKey) as Record<string, unknown> },
      {
        next(result) {
          if (!active) return;
          if (result.errors?.length) {
            setStatus({ state: 'error', ...describe(result.errors) });
            return;
          }
          setStatus((s) => (s.state === 'live' ? s : { state: 'live' }));
          if (result.data != null) onDataRef.current(result.data as TData);
        },
        error(err) {
          if (active) setStatus({ state: 'error', ...describe(err) });
        },
        complete() {
          // Also called after unsubscribe; only a server-side end counts.
          if (active) setStatus((s) => (s.state === 'error' ? s : { state: 'complete' }));
        },
      },
    );
    return () => {
      active = false;
      unsubscribe();
    };
  }, [ws, document, varsKey, enabled]);

  if (!enabled) return { state: 'connecting' };
  // Subscribed and no word yet: live as soon as the socket is up.
  if (status.state === 'connecting' && connected) return { state: 'live' };
  if (status.state === 'live' && !connected) return { state: 'connecting' };
  return status;
}

/**
 * Calls onConnected each time the websocket (re)connects, a little later, so that a view
 * can catch up on changes its subscriptions may have missed: those made while the socket
 * was down, or just before a new subscription reached the server.
 */
export function useOnConnected(onConnected: () => void, delayMs = 300): void {
  const { ws } = useLive();
  const ref = useRef(onConnected);
  ref.current = onConnected;
  useEffect(() => {
    const timers = new Set<number>();
    const off = ws.on('connected', () => {
      const timer = window.setTimeout(() => {
        timers.delete(timer);
        ref.current();
      }, delayMs);
      timers.add(timer);
    });
    return () => {
      off();
      timers.forEach((t) => window.clearTimeout(t));
    };
  }, [ws, delayMs]);
}

/** The current time, advancing every `intervalMs` while `running` (for live durations). */
export function useNow(running: boolean, intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!running) return;
    setNow(Date.now());
    const timer = window.setInterval(() => setNow(Date.now()), intervalMs);
    return () => window.clearInterval(timer);
  }, [running, intervalMs]);
  return now;
}
