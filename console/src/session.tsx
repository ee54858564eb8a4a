import { createContext, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import { ApiError, getJson, request, sendJson, setCredentials, setUnauthorizedHandler } from './api';

// Sign-in exchanges an API token for an HttpOnly session cookie (POST /api/v1/session);
// the page keeps only the CSRF token, in memory. A server without the session endpoint
// gets the token as a bearer header instead, kept in this tab's sessionStorage, and the
// console says so.

export interface Session {
  role: 'read' | 'admin' | 'unknown';
  tokenName: string;
  expiresAt?: string;
  csrfToken?: string;
  /** Bearer mode: the server has no session endpoint. */
  bearer?: boolean;
}

interface SessionContext {
  session: Session | null;
  checking: boolean;
  signIn: (token: string) => Promise<void>;
  signOut: () => Promise<void>;
}

const Context = createContext<SessionContext | null>(null);
const BEARER_KEY = 'crowsnest.bearer';

async function bearerSession(token: string): Promise<Session> {
  setCredentials({ bearer: token });
  try {
    await getJson('/api/v1/status');
  } catch (e) {
    setCredentials({});
    throw e;
  }
  return { role: await probeRole(), tokenName: 'API token', bearer: true };
}

/** Without a session endpoint the role is learnt from a request that changes nothing:
 * an empty job request is refused with 403 for read tokens (before the body is read)
 * and with 400 for admin tokens (no job kind given). */
async function probeRole(): Promise<Session['role']> {
  try {
    await sendJson('POST', '/api/v1/jobs', {});
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) return 'read';
    if (e instanceof ApiError && e.status === 400) return 'admin';
  }
  return 'unknown';
}

export function SessionProvider({ children }: { children: React.ReactNode }) {
  const [session, setSession] = useState<Session | null>(null);
  const [checking, setChecking] = useState(true);

  useEffect(() => {
    setUnauthorizedHandler(() => {
      setCredentials({});
      sessionStorage.removeItem(BEARER_KEY);
      setSession(null);
    });
    (async () => {
      try {
        const s = await getJson<Session>('/api/v1/session');
        setCredentials({ csrfToken: s.csrfToken });
        setSession(s);
      } catch (e) {
        const stored = sessionStorage.getItem(BEARER_KEY);
        if (e instanceof ApiError && e.missingEndpoint && stored) {
          try {
            setSession(await bearerSession(stored));
          } catch {
            sessionStorage.removeItem(BEARER_KEY);
          }
        }
      } finally {
        setChecking(false);
      }
    })();
  }, []);

  const signIn = useCallback(async (token: string) => {
    try {
      const s = await sendJson<Session>('POST', '/api/v1/session', { token });
      if (!s) throw new ApiError(500, 'empty', 'the server answered sign-in without a session');
      setCredentials({ csrfToken: s.csrfToken });
      setSession(s);
    } catch (e) {
      if (!(e instanceof ApiError && e.missingEndpoint)) throw e;
      const s = await bearerSession(token);
      sessionStorage.setItem(BEARER_KEY, token);
      setSession(s);
    }
  }, []);

  const signOut = useCallback(async () => {
    if (session && !session.bearer) {
      try {
        await request('/api/v1/session', { method: 'DELETE' });
      } catch {
        // Signed out locally either way; the server session expires on its own.
      }
    }
    sessionStorage.removeItem(BEARER_KEY);
    setCredentials({});
    setSession(null);
  }, [session]);

  const value = useMemo(() => ({ session, checking, signIn, signOut }), [session, checking, signIn, signOut]);
  return <Context.Provider value={value}>{children}</Context.Provider>;
}

export function useSession(): SessionContext {
  const c = useContext(Context);
  if (!c) throw new Error('useSession outside SessionProvider');
  return c;
}
