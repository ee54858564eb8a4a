import { Link } from 'react-router-dom';
import { ApiError } from '../api';

// Loading, empty and error states that say why and what fixes it.

export function Loading({ what }: { what: string }) {
  return (
    <p className="state loading" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

export function Empty({ why, fix }: { why: string; fix?: React.ReactNode }) {
  return (
    <div className="state empty" role="status">
      <p>
        <strong>Nothing to show.</strong> {why}
      </p>
      {fix && <p className="fix">{fix}</p>}
    </div>
  );
}

interface Explained {
  title: string;
  why: string;
  fix: React.ReactNode;
}

export function explain(error: unknown, what: string): Explained {
  if (!(error instanceof ApiError)) {
    return { title: `Could not load ${what}`, why: String(error), fix: 'Reload the page.' };
  }
  if (error.missingEndpoint) {
    return {
      title: `Not available on this server`,
      why: `This crowsnest serve has no ${what} endpoint (${error.message.replace('no such endpoint: ', '')}).`,
      fix: 'Run a crowsnest build that includes the console API.',
    };
  }
  switch (error.status) {
    case 0:
      return { title: 'Server unreachable', why: error.message, fix: 'Start crowsnest serve, then reload.' };
    case 401:
      return { title: 'Signed out', why: error.message, fix: <Link to="/signin">Sign in again with an API token.</Link> };
    case 403:
      return {
        title: 'Not allowed with this token',
        why: error.message,
        fix: 'Sign in with an admin token (crowsnest token create NAME --role admin).',
      };
    case 404:
      if (/snapshot/.test(error.message)) {
        return {
          title: 'No snapshot yet',
          why: error.message,
          fix: 'Wait for the first cluster snapshot; if it does not come, see the cluster status under Settings (kubeconfig, RBAC of the read-only identity).',
        };
      }
      return { title: `No such ${what}`, why: error.message, fix: 'Check the link, or go back.' };
    case 429:
      return { title: 'Too many failed sign-ins', why: error.message, fix: 'Wait a minute, then try again with a valid token.' };
    default:
      if (error.status >= 500) {
        return { title: `The server failed to load ${what}`, why: error.message, fix: "Look at crowsnest serve's log, then reload." };
      }
      return { title: `Could not load ${what}`, why: `${error.message} (${error.code})`, fix: 'Change the request and try again.' };
  }
}

export function ErrorState({ error, what }: { error: unknown; what: string }) {
  const e = explain(error, what);
  const missing = error instanceof ApiError && error.missingEndpoint;
  return (
    <div className={missing ? 'state unavailable' : 'state error'} role="alert">
      <p>
        <strong>{e.title}.</strong> {e.why}
      </p>
      <p className="fix">{e.fix}</p>
    </div>
  );
}
