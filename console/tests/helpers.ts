import AxeBuilder from '@axe-core/playwright';
import { expect, Page } from '@playwright/test';

// What scripts/console-test hands the tests: the console's URL, the API behind it and
// the two tokens minted for this run.
export const env = {
  api: required('CROWSNEST_API'),
  cluster: process.env.CONSOLE_CLUSTER ?? 'bed',
  read: required('CONSOLE_READ_TOKEN'),
  admin: required('CONSOLE_ADMIN_TOKEN'),
  kubectl: process.env.CONSOLE_KUBECTL,
  kubeconfig: process.env.CONSOLE_KUBECONFIG_ADMIN,
  out: process.env.CONSOLE_TEST_OUT ?? 'test-results',
};

function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the tests through scripts/console-test`);
  return v;
}

/** The REST API straight (bearer), to compare what the console shows with. */
export async function api<T>(path: string, token = env.read, init: RequestInit = {}): Promise<{ status: number; body: T }> {
  const r = await fetch(env.api + path, {
    ...init,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', ...(init.headers ?? {}) },
  });
  const text = await r.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: r.status, body: body as T };
}

/** Every item of a keyset-paged list. */
export async function allPages<T>(path: string): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const { status, body }: { status: number; body: { items: T[]; next: string | null } } = await api(
      `${path}${sep}limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    expect(status, `GET ${path}`).toBe(200);
    out.push(...body.items);
    cursor = body.next;
  } while (cursor);
  return out;
}

export async function hasEndpoint(method: string, path: string, body?: unknown): Promise<boolean> {
  const r = await api<{ error?: { message?: string } }>(path, env.admin, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return !(r.status === 404 && String(r.body.error?.message ?? '').startsWith('no such endpoint'));
}

export async function signIn(page: Page, token: string, path = '/'): Promise<void> {
  await page.goto(path);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();
}

/** No page may ever run script from data: any dialog fails the test. */
export function forbidDialogs(page: Page): void {
  page.on('dialog', async (d) => {
    await d.dismiss();
    throw new Error(`a dialog opened: ${d.message()}`);
  });
}

/** The visible part (what docs/console.md shows), or the whole page. */
export async function screenshot(page: Page, name: string, fullPage = false): Promise<void> {
  await page.screenshot({ path: `${env.out}/screenshots/${name}.png`, fullPage });
}

export async function axe(page: Page): Promise<void> {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']).analyze();
  const summary = result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join('; ')})`);
  expect(summary, 'axe-core violations').toEqual([]);
}
