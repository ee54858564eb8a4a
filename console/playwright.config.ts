import { defineConfig } from '@playwright/test';

// Browser tests against a real `crowsnest serve` (scripts/console-test starts it and
// passes CONSOLE_URL, the tokens and the bed's kubectl). The browser is Debian's
// chromium: Playwright never downloads one.
export default defineConfig({
  testDir: 'tests',
  outputDir: process.env.CONSOLE_TEST_OUT ? `${process.env.CONSOLE_TEST_OUT}/results` : 'test-results',
  timeout: 120_000,
  expect: { timeout: 30_000 },
  workers: 1,
  fullyParallel: false,
  reporter: [['list']],
  use: {
    baseURL: process.env.CONSOLE_URL,
    viewport: { width: 1366, height: 800 },
    acceptDownloads: true,
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      // WebGL through SwiftShader: headless machines have no GPU.
      args: ['--use-gl=angle', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
    },
    trace: 'off',
    screenshot: 'only-on-failure',
  },
});
