import { expect, test } from '@playwright/test';
import { execFileSync } from 'child_process';
import { api, env, forbidDialogs, screenshot, signIn } from './helpers';

// Hostile text planted in the bed cluster (a namespace of this test, removed after):
// script tags, a javascript: URL, a right-to-left override and a 10 kB annotation on a
// pod. The console must show them as inert text.
const NS = `console-hostile-${process.pid}`;
const RLO = '\u202e';
const HOSTILE = {
  script: '<script>alert("x")</script><img src=x onerror=alert(1)>',
  link: 'javascript:alert(document.domain)',
  rtl: `invoice${RLO}gpj.exe`,
  long: 'A'.repeat(10_240),
};

function kubectl(args: string[], input?: string): string {
  return execFileSync(env.kubectl!, ['--kubeconfig', env.kubeconfig!, ...args], { input, encoding: 'utf8' });
}

async function snapshotNow(): Promise<void> {
  const job = await api<{ id: number }>('/api/v1/jobs', env.admin, {
    method: 'POST',
    body: JSON.stringify({ kind: 'cluster-snapshot', target: env.cluster }),
  });
  expect([200, 202]).toContain(job.status);
  await expect
    .poll(
      async () => {
        const snaps = await api<{ items: { id: number }[] }>(`/api/v1/snapshots?cluster=${env.cluster}&limit=1`);
        const latest = await api<{ snapshot: { objects: Record<string, { metadata: { namespace?: string } }[]> } }>(
          `/api/v1/snapshots/${snaps.body.items[0].id}`,
        );
        return (latest.body.snapshot.objects.pods ?? []).some((p) => p.metadata.namespace === NS);
      },
      { timeout: 120_000, intervals: [2000] },
    )
    .toBe(true);
}

test.describe('hostile names', () => {
  test.skip(!env.kubectl || !env.kubeconfig, 'needs the bed kubectl (CONSOLE_KUBECTL, CONSOLE_KUBECONFIG_ADMIN)');
  test.beforeAll(async () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'evil',
        namespace: NS,
        labels: { app: 'evil' },
        annotations: { script: HOSTILE.script, link: HOSTILE.link, rtl: HOSTILE.rtl, long: HOSTILE.long },
      },
      spec: { containers: [{ name: 'c', image: 'registry.invalid/evil:1' }] },
    };
    kubectl(['create', 'namespace', NS]);
    // The bed runs no controllers: the namespace's default service account is made here.
    kubectl(['create', 'serviceaccount', 'default', '-n', NS]);
    kubectl(['apply', '-f', '-'], JSON.stringify(pod));
    await snapshotNow();
  });
  test.afterAll(() => {
    // The bed runs no controllers: nothing empties or finalizes a deleted namespace, so
    // its objects go first and the namespace is finalized by hand.
    kubectl(['delete', 'pod', 'evil', '-n', NS, '--ignore-not-found', '--grace-period=0', '--force']);
    kubectl(['delete', 'serviceaccount', 'default', '-n', NS, '--ignore-not-found']);
    kubectl(['delete', 'namespace', NS, '--wait=false']);
    const finalized = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS }, spec: { finalizers: [] } };
    kubectl(['replace', '--raw', `/api/v1/namespaces/${NS}/finalize`, '-f', '-'], JSON.stringify(finalized));
  });

  test('render inert: no script runs, no javascript: link, bidi override visible, long text cut', async ({ page }) => {
    forbidDialogs(page);
    const scripts: string[] = [];
    page.on('console', (m) => m.type() === 'error' && /Content Security Policy/.test(m.text()) && scripts.push(m.text()));
    await signIn(page, env.read, `/clusters?cluster=${env.cluster}&kind=pods&resource=${encodeURIComponent(`${NS}/evil`)}`);
    const annotations = page.getByTestId('annotations');
    await expect(annotations).toBeVisible();
    // The markup is text on the page, not elements.
    await expect(annotations).toContainText(HOSTILE.script);
    expect(await page.locator('main script, main img[src="x"]').count()).toBe(0);
    // The javascript: URL is text, never a link.
    await expect(annotations).toContainText(HOSTILE.link);
    expect(await page.locator('a[href^="javascript:"]').count()).toBe(0);
    // The override is shown as a marker and cannot reorder what follows.
    await expect(annotations).toContainText('invoice[U+202E]gpj.exe');
    expect(await annotations.evaluate((e) => e.textContent!.includes('\u202e'))).toBe(false);
    // 10 kB: cut, with the full text one button away.
    const more = annotations.getByRole('button', { name: 'show all 10,240 characters' });
    await expect(more).toBeVisible();
    await screenshot(page, 'hostile');
    await more.click();
    await expect(annotations).toContainText(HOSTILE.long);
    expect(scripts, 'no CSP violation').toEqual([]);
  });
});
