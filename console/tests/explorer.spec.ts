import { expect, test } from '@playwright/test';
import { api, env, screenshot, signIn } from './helpers';

interface Result {
  columns: string[];
  rows: unknown[][];
}

// Explorer queries run with the admin token: POST /explorer/query is admin-only on
// servers where the read-token rule has not changed yet.
test('a template query shows the same rows as the API, as a table and a graph', async ({ page }) => {
  const expected = await api<Result>('/api/v1/explorer/query', env.admin, {
    method: 'POST',
    body: JSON.stringify({ template: 'exposed-pods-reaching-cluster-admin', cluster: env.cluster }),
  });
  expect(expected.status).toBe(200);
  await signIn(page, env.admin, `/explorer?cluster=${env.cluster}`);
  await page.getByRole('button', { name: 'exposed-pods-reaching-cluster-admin' }).click();
  await expect(page.getByTestId('result-count')).toContainText(`${expected.body.rows.length} row`);
  await expect(page.getByTestId('result-row')).toHaveCount(expected.body.rows.length);
  await screenshot(page, 'explorer-template');
});

test('a typed query runs with Ctrl+Enter, draws a graph, expands neighbours', async ({ page }) => {
  const query = 'MATCH (p:Pod)-[r:RUNS_ON]->(n:Node)\nRETURN p, r, n';
  const expected = await api<Result>('/api/v1/explorer/query', env.admin, {
    method: 'POST',
    body: JSON.stringify({ query, cluster: env.cluster }),
  });
  expect(expected.status).toBe(200);
  await signIn(page, env.admin, `/explorer?cluster=${env.cluster}`);
  const editor = page.getByLabel('openCypher query (Ctrl+Enter runs it)');
  await editor.fill(query);
  await editor.press('Control+Enter');
  await expect(page.getByTestId('result-row')).toHaveCount(expected.body.rows.length);
  await expect(page).toHaveURL(/q=MATCH/);
  await page.getByRole('button', { name: 'Graph' }).click();
  await expect(page.getByRole('img', { name: /Query result graph/ })).toBeVisible();
  const firstPod = (expected.body.rows[0][0] as { key: string }).key;
  await page.getByRole('button', { name: firstPod, exact: true }).click();
  await expect(page).toHaveURL(/node=/);
  const before = await page.locator('.node-list li').count();
  await page.getByRole('button', { name: 'Expand neighbours' }).click();
  await expect.poll(() => page.locator('.node-list li').count()).toBeGreaterThan(before);
  await screenshot(page, 'explorer-graph');
});

test('a syntax error is shown at the position the engine reports', async ({ page }) => {
  const query = 'MATCH (p:Pod)\nRETURN p LIMT 3';
  const expected = await api<{ error: { message: string } }>('/api/v1/explorer/query', env.admin, {
    method: 'POST',
    body: JSON.stringify({ query, cluster: env.cluster }),
  });
  expect(expected.status).toBe(400);
  const m = / at (\d+):(\d+)/.exec(expected.body.error.message);
  expect(m, expected.body.error.message).not.toBeNull();
  await signIn(page, env.admin, `/explorer?cluster=${env.cluster}&q=${encodeURIComponent(query)}`);
  await expect(page.getByTestId('query-problem')).toContainText(`Line ${m![1]}, column ${m![2]}`);
  // The offending character is marked in the editor.
  await expect(page.locator('.editor mark.tok-error')).toHaveCount(1);
  await screenshot(page, 'explorer-error');
});
