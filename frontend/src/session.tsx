import { createContext, useContext } from 'react';
import { graphql } from './gql';
import type { MeQuery } from './gql/graphql';

export const meQueryDocument = graphql(`
  query Me {
    me {
      id
      username
      role
    }
  }
`);

export type SessionUser = NonNullable<MeQuery['me']>;

export interface SessionContextValue {
  user: SessionUser;
  logout: () => Promise<void>;
}

export const SessionContext = createContext<SessionContextValue | null>(null);

/** The signed-in user; only valid inside the authenticated shell. */
export function useSession(): SessionContextValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession outside of an authenticated session');
  return value;
}

/** "OWNER" -> "owner"; the CSS capitalises it for display. */
export function roleLabel(role: string): string {
  return role.toLowerCase();
}
