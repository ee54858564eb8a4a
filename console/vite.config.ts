import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// `npm run dev` / `npm run preview` forward /api to a running `crowsnest serve`
// (CROWSNEST_API=http://127.0.0.1:PORT) so the console talks to the same-origin API
// exactly as it does when embedded.
const api = process.env.CROWSNEST_API;
const proxy = api ? { '/api': { target: api, changeOrigin: false } } : undefined;

// The headers `crowsnest serve` sends with the console (docs/console.md), so a preview
// enforces the same policy and a violation fails the browser tests here too.
const securityHeaders = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; worker-src 'self' blob:; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: 'dist',
    // Hashed assets only; nothing inlined as data: URLs into scripts (CSP).
    assetsInlineLimit: 0,
    sourcemap: false,
    target: 'es2022',
  },
  server: { proxy },
  preview: { proxy, headers: securityHeaders },
});
