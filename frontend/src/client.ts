import { Client, cacheExchange, fetchExchange, mapExchange, subscriptionExchange, type CombinedError } from 'urql';
import { createClient as createWSClient, type Client as WSClient } from 'graphql-ws';

/** Same origin as the SPA: the Go server serves both / and /graphql. */
export const GRAPHQL_PATH = '/graphql';

// The SPA authenticates over HTTP with the HttpOnly session cookie the server sets on login.
// The token returned by `login` is kept in memory only (never in storage): the websocket sends
// it in connection_init when it is known; otherwise (after a reload) it relies on the cookie,
// which the browser sends with the same-origin upgrade request.
let authToken: string | null = null;

export function setAuthToken(token: string | null): void {
  authToken = token;
}

/** ws(s)://<host>/graphql for the page's own origin. */
export function graphqlWsUrl(loc: Pick<Location, 'protocol' | 'host'> = window.location): string {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${loc.host}${GRAPHQL_PATH}`;
}

/** True for HTTP 401 or a GraphQL error with extensions.code UNAUTHENTICATED. */
export function isUnauthenticated(error: CombinedError | undefined | null): boolean {
  if (!error) return false;
  const response = error.response as { status?: number } | undefined;
  if (response?.status === 401) return true;
  return error.graphQLErrors.some((e) => e.extensions?.code === 'UNAUTHENTICATED');
}

/** A user-facing message for an error that is not an authentication failure. */
export function errorMessage(error: CombinedError): string {
  if (error.networkError) return 'Cannot reach the berth server. Check your connection and try again.';
  const first = error.graphQLErrors[0];
  return first?.message || error.message;
}

// graphql-transport-ws close codes the server uses to refuse a connection.
const CLOSE_UNAUTHORIZED = 4401;
const CLOSE_FORBIDDEN = 4403;

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'closed';

/** The websocket's state, as an external store for useSyncExternalStore. */
export interface ConnectionStore {
  get(): ConnectionState;
  subscribe(onChange: () => void): () => void;
}

export interface SessionClient {
  client: Client;
  ws: WSClient;
  connection: ConnectionStore;
  dispose(): void;
}

function connectionStore(): ConnectionStore & { set(state: ConnectionState): void } {
  let state: ConnectionState = 'idle';
  const listeners = new Set<() => void>();
  return {
    get: () => state,
    set(next) {
      if (next === state) return;
      state = next;
      listeners.forEach((l) => l());
    },
    subscribe(onChange) {
      listeners.add(onChange);
      return () => listeners.delete(onChange);
    },
  };
}

/**
 * One urql client (and one lazy websocket) per login session: a new one after login and
 * after logout, so no cached data or open subscription outlives the session.
 */
export function createSessionClient(onUnauthenticated: () => void): SessionClient {
  const connection = connectionStore();
  const ws = createWSClient({
    url: graphqlWsUrl(),
    lazy: true,
    // A function, so each (re)connect carries the current token.
    connectionParams: () => (authToken ? { authToken } : {}),
    retryAttempts: 10,
    on: {
      connecting: () => connection.set('connecting'),
      connected: () => connection.set('connected'),
      closed: (event) => {
        connection.set('closed');
        const code = (event as { code?: number } | undefined)?.code;
        if (code === CLOSE_UNAUTHORIZED || code === CLOSE_FORBIDDEN) onUnauthenticated();
      },
    },
  });

  const client = new Client({
    url: GRAPHQL_PATH,
    // Always POST with a JSON body: no GraphQL over GET (CSRF-safe with cookie auth).
    preferGetMethod: false,
    fetchOptions: { credentials: 'same-origin' },
    exchanges: [
      mapExchange({
        onError(error) {
          if (isUnauthenticated(error)) onUnauthenticated();
        },
      }),
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query || '' };
          return {
            subscribe(sink) {
              const unsubscribe = ws.subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
  });

  return {
    client,
    ws,
    connection,
    dispose() {
      void ws.dispose();
    },
  };
}
