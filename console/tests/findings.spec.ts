import { expect, test } from '@playwright/test';
import { readFileSync } from 'fs';
import { allPages, env, screenshot, signIn } from './helpers';

interface Row {
  image: string;
  finding: { id: string; severity: string; priority: { score: number } };
}

function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n') {
      row.push(cell.replace(/\r$/, ''));
      rows.push(row);
      row = [];
      cell = '';
    } else cell += c;
  }
  return rows;
}

test('findings: filter, priority order, deep-link reload, CSV export equal the API', async ({ page }) => {
  const critical = await allPages<Row>('/api/v1/findings?severity=critical');
  expect(critical.length, 'the bed has critical findings').toBeGreaterThan(0);
  await signIn(page, env.read, '/findings');
  await expect(page.getByTestId('findings-count')).toBeVisible();

  await page.getByRole('checkbox', { name: 'Critical' }).check();
  await expect(page).toHaveURL(/severity=critical/);
  await expect(page.getByTestId('findings-count')).toHaveText(`${critical.length.toLocaleString('en-US')} findings`);
  // Priority first by default: the top row has the highest priority of the API's set.
  const top = Math.max(...critical.map((r) => r.finding.priority.score));
  await expect(page.getByTestId('finding-row').first()).toContainText(top.toFixed(1));
  await expect(page.getByTestId('finding-row').first()).toContainText('Critical');
  await screenshot(page, 'findings');

  // Deep link: a reload keeps the filter and the same rows.
  await page.reload();
  await expect(page.getByRole('checkbox', { name: 'Critical' })).toBeChecked();
  await expect(page.getByTestId('findings-count')).toHaveText(`${critical.length.toLocaleString('en-US')} findings`);

  // Back returns to the unfiltered list.
  await page.goBack();
  await expect(page).not.toHaveURL(/severity=critical/);
  await page.goForward();
  await expect(page).toHaveURL(/severity=critical/);

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
  const csv = parseCsv(readFileSync(await download.path(), 'utf8'));
  expect(csv[0].slice(0, 4)).toEqual(['image', 'id', 'severity', 'priority']);
  const exported = csv.slice(1).map((r) => `${r[0]} ${r[1]}`).sort();
  const expected = critical.map((r) => `${r.image} ${r.finding.id}`).sort();
  expect(exported).toEqual(expected);
  expect(new Set(csv.slice(1).map((r) => r[2].toLowerCase()))).toEqual(new Set(['critical']));
  // Sorted by priority, highest first.
  const scores = csv.slice(1).map((r) => Number(r[3]));
  expect(scores).toEqual([...scores].sort((a, b) => b - a));
});

test('findings: group by CVE and drill into one', async ({ page }) => {
  const kev = await allPages<Row>('/api/v1/findings?kev=true');
  test.skip(kev.length === 0, 'no KEV finding on this bed');
  const ids = new Set(kev.map((r) => r.finding.id));
  await signIn(page, env.read, '/findings?kev=true&group=cve');
  await expect(page.getByTestId('findings-count')).toContainText(`in ${ids.size} groups`);
  const first = page.getByTestId('finding-row').first().getByRole('button');
  await first.click();
  await expect(page).toHaveURL(/cve=/);
  await expect(page.getByTestId('finding-row').first()).toContainText('KEV');
});
