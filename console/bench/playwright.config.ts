import { defineConfig } from '@playwright/test';
import base from '../playwright.config';

// The console benchmark (scripts/bench/console): same browser settings as the tests.
export default defineConfig({ ...base, testDir: '.', testMatch: '*.bench.ts', timeout: 600_000 });
