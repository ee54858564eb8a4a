import { lazy, Suspense, useEffect, useRef } from 'react';
import { Navigate, NavLink, Route, Routes, useLocation } from 'react-router-dom';
import { Loading } from './components/State';
import { SignIn } from './pages/SignIn';
import { useSession } from './session';

// Pages are split into their own chunks so the shell stays small; the graph canvas
// (sigma.js) loads only with the pages that draw one.
const Overview = lazy(() => import('./pages/Overview'));
const AttackPaths = lazy(() => import('./pages/AttackPaths'));
const AttackPath = lazy(() => import('./pages/AttackPath'));
const Explorer = lazy(() => import('./pages/Explorer'));
const Findings = lazy(() => import('./pages/Findings'));
const Images = lazy(() => import('./pages/Images'));
const Clusters = lazy(() => import('./pages/Clusters'));
const Recommendations = lazy(() => import('./pages/Recommendations'));
const Settings = lazy(() => import('./pages/Settings'));

const NAV: [string, string][] = [
  ['/', 'Overview'],
  ['/attack-paths', 'Attack paths'],
  ['/explorer', 'Explorer'],
  ['/findings', 'Findings'],
  ['/images', 'Images'],
  ['/clusters', 'Clusters'],
  ['/recommendations', 'Recommendations'],
  ['/settings', 'Settings'],
];

function Shell({ children }: { children: React.ReactNode }) {
  const { session, signOut } = useSession();
  const location = useLocation();
  const main = useRef<HTMLElement>(null);
  // A new page moves focus to its content, as a full page load would.
  useEffect(() => {
    main.current?.focus({ preventScroll: true });
  }, [location.pathname]);
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">Crowsnest</span>
        <nav aria-label="Pages">
          <ul>
            {NAV.map(([to, label]) => (
              <li key={to}>
                <NavLink to={to} end={to === '/'}>
                  {label}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          <span>
            {session?.tokenName} · <span data-testid="role">{session?.role}</span>
          </span>
          <button type="button" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      {session?.bearer && (
        <p className="banner" role="note">
          This server has no session endpoint: the token is sent as a bearer header and kept in this tab until you sign
          out.
        </p>
      )}
      <main id="main" ref={main} tabIndex={-1}>
        <Suspense fallback={<Loading what="the page" />}>{children}</Suspense>
      </main>
    </>
  );
}

export function App() {
  const { session, checking } = useSession();
  const location = useLocation();
  if (checking) return <Loading what="your session" />;
  if (!session) {
    if (location.pathname === '/signin') return <SignIn />;
    const back = location.pathname + location.search;
    return <Navigate to={`/signin?next=${encodeURIComponent(back)}`} replace />;
  }
  return (
    <Shell>
      <Routes>
        <Route path="/" element={<Overview />} />
        <Route path="/attack-paths" element={<AttackPaths />} />
        <Route path="/attack-paths/:cluster/:index" element={<AttackPath />} />
        <Route path="/explorer" element={<Explorer />} />
        <Route path="/findings" element={<Findings />} />
        <Route path="/images" element={<Images />} />
        <Route path="/clusters" element={<Clusters />} />
        <Route path="/recommendations" element={<Recommendations />} />
        <Route path="/settings" element={<Settings />} />
        <Route path="/signin" element={<SignedInRedirect />} />
        <Route path="*" element={<p className="state">No such page. Pick one from the navigation above.</p>} />
      </Routes>
    </Shell>
  );
}

function SignedInRedirect() {
  const params = new URLSearchParams(useLocation().search);
  const next = params.get('next');
  // Only same-site paths: never an open redirect.
  const target = next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
  return <Navigate to={target} replace />;
}
