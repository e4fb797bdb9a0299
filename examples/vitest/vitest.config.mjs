// Vitest settings for this example. A project that installed kafka-ts-broker from npm needs
// none of them but the timeouts: the package is under node_modules, which vitest leaves to
// Node. Here it is this repository's own build (dist/), imported by its name, so it is left
// to Node explicitly: the broker starts worker threads from its own files, which must load
// as they are, not through vite's transform.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  test: {
    include: ['*.test.mjs'],
    // Starting a broker and a consumer group's first rebalance take seconds, not milliseconds.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    server: { deps: { external: [/\/dist\//] } },
  },
});
