import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'src-shared/**/*.test.ts',
      'src-main/**/*.test.ts',
      'bench/**/*.test.ts',
      'scripts/**/*.test.ts',
      'src-renderer/**/*.test.ts',
    ],
    // Native modules (tfjs-node, better-sqlite3, sharp) are safest in forked processes.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
