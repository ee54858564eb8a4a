import { expect, test } from '@playwright/test';
import { axe, env, screenshot, signIn } from './helpers';

// Every page, light and dark: axe-core finds no WCAG 2.2 A/AA violation, and a
// screenshot of each goes to the run's output directory.
const PAGES: [string, string, string][] = [
  ['overview', '/', 'Overview'],
  ['attack-paths', '/attack-paths', 'Attack paths'],
  ['attack-path', `/attack-paths/${env.cluster}/1`, 'Steps'],
  ['explorer', `/explorer?cluster=${env.cluster}&q=${encodeURIComponent('MATCH (p:Pod) RETURN p.key AS pod LIMIT 5')}`, 'Explorer'],
  ['findings', '/findings', 'Findings'],
  ['images', '/images', 'Images'],
  ['clusters', `/clusters?cluster=${env.cluster}&kind=pods`, 'Clusters'],
  ['clusters-insights', `/clusters?cluster=${env.cluster}&tab=insights`, 'Clusters'],
  ['recommendations', '/recommendations', 'Recommendations'],
  ['settings', '/settings', 'Settings'],
];

for (const scheme of ['light', 'dark'] as const) {
  test(`every page passes axe-core in the ${scheme} theme`, async ({ page }) => {
    await page.emulateMedia({ colorScheme: scheme });
    await page.goto('/signin');
    await axe(page);
    await screenshot(page, `signin-${scheme}`);
    await signIn(page, env.admin);
    for (const [name, path, heading] of PAGES) {
      await test.step(name, async () => {
        await page.goto(path);
        await expect(page.getByRole('heading', { name: heading, exact: true }).first()).toBeVisible();
        // Settle: no loading state left.
        await expect(page.locator('.state.loading')).toHaveCount(0);
        await axe(page);
        await screenshot(page, `${name}-${scheme}`, true);
      });
    }
  });
}
