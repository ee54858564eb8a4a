import { useState } from 'react';
import { useSession } from '../session';
import { explain } from '../components/State';
import { ApiError } from '../api';

export function SignIn() {
  const { signIn } = useSession();
  const [token, setToken] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const problem = error ? explain(error, 'session') : null;
  return (
    <main id="main" className="signin">
      <h1>Crowsnest</h1>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          try {
            await signIn(token.trim());
          } catch (err) {
            setError(err);
          } finally {
            setBusy(false);
          }
        }}
      >
        <label htmlFor="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          spellCheck={false}
          required
          value={token}
          onChange={(e) => setToken(e.target.value)}
          aria-describedby="token-help"
        />
        <p id="token-help" className="help">
          A read or admin token from <code>crowsnest token create NAME --role read</code>. It is exchanged for a session
          cookie that expires; the page never stores it.
        </p>
        <button type="submit" disabled={busy || token.trim() === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {problem && (
          <p role="alert" className="state error">
            <strong>{error instanceof ApiError && error.status === 401 ? 'That token was not accepted.' : `${problem.title}.`}</strong> {problem.why}{' '}
            {error instanceof ApiError && error.status === 401 && 'Check it was copied whole and not revoked (crowsnest token list).'}
          </p>
        )}
      </form>
    </main>
  );
}
