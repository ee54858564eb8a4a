import { expect, test } from '@playwright/test';
import { readFileSync } from 'fs';
import { allPages, api, env, screenshot, signIn } from './helpers';

interface Registry {
  id: number;
  url: string;
}
interface Repository {
  id: number;
  name: string;
}

test('registry → repository → image; SBOM downloads validate', async ({ page }) => {
  const registries = await api<{ items: Registry[] }>('/api/v1/registries');
  const registry = registries.body.items[0];
  const repos = await api<{ items: Repository[] }>(`/api/v1/repositories?registry=${registry.id}`);
  const repo = repos.body.items.find((r) => r.name.includes('app')) ?? repos.body.items[0];
  const images = await allPages<{ digest: string }>(`/api/v1/images?repository=${repo.id}`);
  const digest = images[0].digest;

  await signIn(page, env.read, '/images');
  await page.getByRole('button', { name: registry.url }).click();
  await page.getByRole('button', { name: repo.name, exact: true }).click();
  await expect(page.getByRole('table')).toContainText(digest.slice(0, 19));
  await page.getByRole('button', { name: `${digest.slice(0, 19)}…` }).click();
  await expect(page).toHaveURL(/digest=sha256/);
  await expect(page.getByRole('heading', { name: digest })).toBeVisible();
  await screenshot(page, 'image');

  const [cdx] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download SBOM (CycloneDX)' }).click()]);
  const bom = JSON.parse(readFileSync(await cdx.path(), 'utf8'));
  expect(bom.bomFormat).toBe('CycloneDX');
  expect(Array.isArray(bom.components) && bom.components.length).toBeGreaterThan(0);

  const spdx = await api<{ spdxVersion?: string }>(`/api/v1/images/${digest}/sbom?format=spdx`);
  if (spdx.status === 200) {
    const [d] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download SBOM (SPDX)' }).click()]);
    expect(JSON.parse(readFileSync(await d.path(), 'utf8')).spdxVersion).toMatch(/^SPDX-2\./);
  } else {
    await page.getByRole('button', { name: 'Download SBOM (SPDX)' }).click();
    await expect(page.getByRole('alert')).toContainText('Not available on this server');
  }
});
