import { expect, test } from '@playwright/test';
import { api, env, hasEndpoint, screenshot, signIn } from './helpers';

interface Settings {
  clusters: { name: string; discoveryEnabled?: boolean; kubernetesDiscovery?: boolean; snapshotInterval?: string }[];
}

test('a read token sees settings but cannot change them', async ({ page }) => {
  await signIn(page, env.read, '/settings');
  await expect(page.getByTestId('read-only-note')).toBeVisible();
  const form = page.getByTestId(`settings-clusters-${env.cluster}`);
  await expect(form.getByRole('checkbox', { name: 'Enabled' })).toBeDisabled();
  await expect(form.getByRole('button', { name: 'Save' })).toBeDisabled();
  // And the server refuses it too, whatever a client sends.
  const r = await api(`/api/v1/settings/clusters/${env.cluster}`, env.read, {
    method: 'PATCH',
    body: JSON.stringify({ snapshotInterval: '7m' }),
  });
  expect([403, 404]).toContain(r.status);
  await screenshot(page, 'settings-read');
});

test('an admin changes a schedule and the API reflects it', async ({ page }) => {
  test.skip(
    !(await hasEndpoint('PATCH', `/api/v1/settings/clusters/${env.cluster}`, {})),
    'this server has no PATCH /settings (console-api not merged)',
  );
  await signIn(page, env.admin, '/settings');
  const form = page.getByTestId(`settings-clusters-${env.cluster}`);
  await form.getByLabel('Snapshot every').fill('7m');
  await form.getByRole('button', { name: 'Save' }).click();
  await expect(form.getByRole('status')).toContainText('Saved');
  const after = await api<Settings>('/api/v1/settings');
  expect(after.body.clusters.find((c) => c.name === env.cluster)?.snapshotInterval).toMatch(/^7m|420/);
  await screenshot(page, 'settings-admin');
});
