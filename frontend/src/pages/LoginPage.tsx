import { useId, useRef, useState, type FormEvent } from 'react';
import { useMutation, type CombinedError } from 'urql';
import { graphql } from '../gql';
import { isUnauthenticated } from '../client';
import type { SessionUser } from '../session';

const loginMutationDocument = graphql(`
  mutation Login($username: String!, $password: String!) {
    login(username: $username, password: $password) {
      token
      user {
        id
        username
        role
      }
    }
  }
`);

const BAD_CREDENTIALS = 'Invalid username or password.';

function loginErrorMessage(error: CombinedError): string {
  if (error.networkError && !isUnauthenticated(error)) {
    return 'Cannot reach the berth server. Check your connection and try again.';
  }
  const first = error.graphQLErrors[0];
  const code = String(first?.extensions?.code ?? '');
  const message = first?.message ?? '';
  if (
    isUnauthenticated(error) ||
    ['INVALID_CREDENTIALS', 'BAD_CREDENTIALS', 'FORBIDDEN'].includes(code) ||
    /invalid|incorrect|wrong|credential|password/i.test(message)
  ) {
    return BAD_CREDENTIALS;
  }
  return message || 'Sign-in failed.';
}

interface LoginPageProps {
  notice?: string;
  onLoggedIn: (user: SessionUser, token: string | null) => void;
}

export function LoginPage({ notice, onLoggedIn }: LoginPageProps) {
  const id = useId();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [{ fetching }, login] = useMutation(loginMutationDocument);
  const passwordRef = useRef<HTMLInputElement>(null);

  async function handleSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    if (fetching) return;
    setError(null);
    const result = await login({ username: username.trim(), password });
    if (result.data?.login) {
      onLoggedIn(result.data.login.user, result.data.login.token ?? null);
      return;
    }
    setError(result.error ? loginErrorMessage(result.error) : 'Sign-in failed.');
    setPassword('');
    passwordRef.current?.focus();
  }

  return (
    <main className="login">
      <div className="card login-card">
        <div className="brand brand-large" aria-hidden="true">
          <span className="brand-mark" />
          berth
        </div>
        <h1>Sign in</h1>
        {notice && !error && (
          <p className="notice" role="status">
            {notice}
          </p>
        )}
        <form onSubmit={handleSubmit} noValidate aria-describedby={error ? `${id}-error` : undefined}>
          <div className="field">
            <label htmlFor={`${id}-username`}>Username</label>
            <input
              id={`${id}-username`}
              name="username"
              type="text"
              autoComplete="username"
              autoCapitalize="none"
              spellCheck={false}
              autoFocus
              required
              value={username}
              onChange={(e) => setUsername(e.target.value)}
            />
          </div>
          <div className="field">
            <label htmlFor={`${id}-password`}>Password</label>
            <input
              id={`${id}-password`}
              ref={passwordRef}
              name="password"
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          </div>
          {error && (
            <p id={`${id}-error`} className="error" role="alert">
              {error}
            </p>
          )}
          <button type="submit" className="button primary block" disabled={fetching || !username || !password}>
            {fetching ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
      </div>
    </main>
  );
}
