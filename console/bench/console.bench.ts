import { expect, test } from '@playwright/test';

// Measures on a running server (scripts/bench/console starts it over a large store):
// shell load + first findings shown, and frame times while the findings list scrolls.
// Prints one JSON line per measurement; no assertion on speed (docs/benchmarks.md).

const token = process.env.CONSOLE_READ_TOKEN!;

function stats(frames: number[]) {
  const sorted = [...frames].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return {
    frames: frames.length,
    p50: +at(0.5).toFixed(1),
    p95: +at(0.95).toFixed(1),
    p99: +at(0.99).toFixed(1),
    max: +sorted[sorted.length - 1].toFixed(1),
    over16_7ms: +((100 * frames.filter((f) => f > 16.7).length) / frames.length).toFixed(1),
  };
}

test('shell load, first data, findings scroll', async ({ page }) => {
  await page.goto('/signin');
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('button', { name: 'Sign out' })).toBeVisible();

  for (let run = 0; run < 3; run++) {
    await page.goto('/findings');
    await expect(page.getByTestId('finding-row').first()).toBeVisible();
    const timing = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      const shell = performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? nav.domContentLoadedEventEnd;
      return { shellMs: Math.round(shell), firstDataMs: Math.round(performance.now()) };
    });
    console.log(JSON.stringify({ measure: 'findings load (warm cache)', run, ...timing }));
  }

  // Scroll 10 s at 200 px per frame (a fast wheel), then 10 s at 2,000 px per frame (a
  // dragged scrollbar), through keyset pages as they load.
  for (const step of [200, 2_000]) {
    const frames = await page.evaluate(async (px) => {
      const list = document.querySelector('.vlist') as HTMLElement;
      const deltas: number[] = [];
      let last = performance.now();
      const end = last + 10_000;
      await new Promise<void>((done) => {
        const tick = (now: number) => {
          deltas.push(now - last);
          last = now;
          list.scrollTop += px;
          if (now < end) requestAnimationFrame(tick);
          else done();
        };
        requestAnimationFrame(tick);
      });
      return deltas.slice(1);
    }, step);
    const loaded = await page.getByTestId('findings-count').textContent();
    console.log(JSON.stringify({ measure: `findings scroll frame times (ms), ${step} px per frame`, ...stats(frames), loaded }));
  }
});
