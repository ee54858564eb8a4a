import { expect, test } from '@playwright/test';
import { api, env, signIn } from './helpers';

test('a wrong token is refused with the reason, a good one signs in, sign-out ends the session', async ({ page }) => {
  await page.goto('/findings?severity=critical');
  await expect(page).toHaveURL(/\/signin\?next=/);
  await page.getByLabel('API token').fill('cn_not-a-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toContainText('not accepted');

  await page.getByLabel('API token').fill(env.read);
  await page.getByRole('button', { name: 'Sign in' }).click();
  // Back where the link pointed, filters kept.
  await expect(page).toHaveURL(/\/findings\?severity=critical$/);
  await expect(page.getByRole('heading', { name: 'Findings' })).toBeVisible();

  const session = await api<{ role?: string }>('/api/v1/session');
  if (session.status !== 404) {
    // Cookie sessions: the cookie is HttpOnly (page script cannot read it).
    const cookies = await page.context().cookies();
    const c = cookies.find((x) => x.name === 'crowsnest_session');
    expect(c?.httpOnly).toBe(true);
    expect(c?.sameSite).toBe('Strict');
    expect(await page.evaluate(() => document.cookie)).not.toContain('crowsnest_session');
  }

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByLabel('API token')).toBeVisible();
  await page.goto('/findings');
  await expect(page).toHaveURL(/\/signin/);
});

test('the role of the token is shown after sign-in', async ({ page }) => {
  await signIn(page, env.admin);
  await expect(page.getByTestId('role')).toHaveText('admin');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await signIn(page, env.read);
  await expect(page.getByTestId('role')).toHaveText('read');
});
