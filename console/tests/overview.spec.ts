import { expect, test } from '@playwright/test';
import { api, env, screenshot, signIn } from './helpers';

interface Overview {
  findings: { bySeverity: Record<string, number>; exploitable: number; fixable: number; kev: number };
  topPaths: unknown[];
}

test("the overview's numbers equal the API's", async ({ page }) => {
  const overview = await api<Overview>('/api/v1/overview');
  await signIn(page, env.read, '/');
  if (overview.status === 200) {
    for (const [severity, n] of Object.entries(overview.body.findings.bySeverity)) {
      await expect(page.getByTestId(`count-${severity}`)).toContainText(n.toLocaleString('en-US'));
    }
    await expect(page.getByTestId('count-kev')).toContainText(overview.body.findings.kev.toLocaleString('en-US'));
    await expect(page.getByTestId('count-exploitable')).toContainText(overview.body.findings.exploitable.toLocaleString('en-US'));
    await expect(page.getByTestId('count-fixable')).toContainText(overview.body.findings.fixable.toLocaleString('en-US'));
    await expect(page.getByTestId('top-path')).toHaveCount(overview.body.topPaths.length);
  } else {
    // Without /overview the page says so and still shows freshness and the top paths.
    expect(overview.status).toBe(404);
    await expect(page.getByText('Not available on this server.')).toBeVisible();
    const status = await api<{ targets: { id: string }[] }>('/api/v1/status');
    for (const t of status.body.targets) await expect(page.locator('main table')).toContainText(t.id.slice(0, 60));
    const paths = await api<{ items: { score: number }[] }>('/api/v1/attack-paths?limit=5');
    const top = page.getByTestId('top-path');
    await expect(top).toHaveCount(paths.body.items.length);
    for (let i = 0; i < paths.body.items.length; i++) {
      await expect(top.nth(i)).toContainText(`score ${paths.body.items[i].score.toFixed(1)}`);
    }
  }
  await screenshot(page, 'overview');
});
