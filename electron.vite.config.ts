import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import type { Plugin } from 'vite';
import { CONTENT_SECURITY_POLICY } from './src-shared/bridge';

/** Puts the one CSP string (also sent as a header by the host and the Electron protocol) into index.html. */
function contentSecurityPolicyMeta(): Plugin {
  return {
    name: 'landmark-studio-csp-meta',
    transformIndexHtml: () => [
      {
        tag: 'meta',
        attrs: { 'http-equiv': 'Content-Security-Policy', content: CONTENT_SECURITY_POLICY },
        injectTo: 'head-prepend',
      },
    ],
  };
}

// Main and preload build for Electron; the renderer is the same bundle the plain-Node host
// serves to a browser (`npm run serve`, end-to-end tests).
export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      rollupOptions: {
        // The job worker is a second entry: training runs in a child process the main process forks
        // (src-main/jobs/executeRun.ts finds workerMain.js next to the bundled code). The heatmap
        // head's batch thread and the input thread are two more (src-main/ml/workerThread.ts finds
        // them there too).
        input: {
          index: resolve(__dirname, 'src-main/app/main.ts'),
          workerMain: resolve(__dirname, 'src-main/jobs/workerMain.ts'),
          heatmapBatchWorker: resolve(__dirname, 'src-main/ml/train/heatmapBatchWorker.ts'),
          inputBatchWorker: resolve(__dirname, 'src-main/ml/image/inputBatchWorker.ts'),
        },
        external: ['better-sqlite3', 'sharp', '@tensorflow/tfjs', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      rollupOptions: {
        input: { index: resolve(__dirname, 'src-main/app/preload.ts') },
        // Sandboxed preloads must be CommonJS.
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(__dirname, 'src-renderer'),
    plugins: [svelte(), contentSecurityPolicyMeta()],
    build: {
      outDir: resolve(__dirname, 'out/renderer'),
      rollupOptions: { input: resolve(__dirname, 'src-renderer/index.html') },
    },
  },
});
