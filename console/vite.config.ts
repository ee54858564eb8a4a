import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// `npm run dev` / `npm run preview` forward /api to a running `crowsnest serve`
// (CROWSNEST_API=http://127.0.0.1:PORT) so the console talks to the same-origin API
// exactly as it does when embedded.
const api = process.env.CROWSNEST_API;
const proxy = api ? { '/api': { target: api, changeOrigin: false } } : undefined;

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
  preview: { proxy },
});
