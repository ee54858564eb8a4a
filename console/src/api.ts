// The one door to the REST API: same origin, session cookie + CSRF header (or a bearer
// token when the server has no session endpoint), the API's one error body turned into
// an ApiError that pages explain to people.

export class ApiError extends Error {
  status: number;
  code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
  /** The server does not have this endpoint at all (an older or partial build). */
  get missingEndpoint(): boolean {
    return this.status === 404 && this.message.startsWith('no such endpoint');
  }
}

interface Credentials {
  csrfToken?: string;
  /** Only when the server has no /session endpoint: kept in this tab only. */
  bearer?: string;
}

const credentials: Credentials = {};
let onUnauthorized: () => void = () => {};

export function setCredentials(c: Credentials): void {
  credentials.csrfToken = c.csrfToken;
  credentials.bearer = c.bearer;
}

export function setUnauthorizedHandler(f: () => void): void {
  onUnauthorized = f;
}

function headers(method: string, json: boolean): Headers {
  const h = new Headers({ Accept: 'application/json' });
  if (json) h.set('Content-Type', 'application/json');
  if (credentials.bearer) h.set('Authorization', `Bearer ${credentials.bearer}`);
  else if (credentials.csrfToken && method !== 'GET' && method !== 'HEAD') {
    h.set('X-CSRF-Token', credentials.csrfToken);
  }
  return h;
}

async function errorOf(response: Response): Promise<ApiError> {
  let code = 'http_' + response.status;
  let message = response.statusText || `HTTP ${response.status}`;
  try {
    const body = (await response.json()) as { error?: { code?: string; message?: string } };
    if (body.error?.code) code = body.error.code;
    if (body.error?.message) message = body.error.message;
  } catch {
    // Not the API's error body (a proxy's page): keep the status text.
  }
  return new ApiError(response.status, code, message);
}

export async function request(
  path: string,
  init: { method?: string; body?: unknown; signal?: AbortSignal; accept?: string } = {},
): Promise<Response> {
  const method = init.method ?? 'GET';
  const h = headers(method, init.body !== undefined);
  if (init.accept) h.set('Accept', init.accept);
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers: h,
      credentials: 'same-origin',
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: init.signal,
    });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, 'unreachable', 'The Crowsnest server did not answer (is `crowsnest serve` running?)');
  }
  if (!response.ok) {
    const error = await errorOf(response);
    if (response.status === 401 && !path.endsWith('/session')) onUnauthorized();
    throw error;
  }
  return response;
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const r = await request(path, { signal });
  return (await r.json()) as T;
}

export async function sendJson<T>(method: string, path: string, body?: unknown): Promise<T | null> {
  const r = await request(path, { method, body });
  if (r.status === 204) return null;
  return (await r.json()) as T;
}

/** A query string from the non-empty values, in a stable order. */
export function query(params: Record<string, string | number | boolean | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

export interface Page<T> {
  items: T[];
  next: string | null;
}
