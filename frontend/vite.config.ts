import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

// The Go binary embeds frontend/dist (go:embed all:dist). Vite empties dist/ on every build,
// so the committed placeholder is written back with the exact committed content.
const keepPlaceholder: Plugin = {
  name: 'berth-dist-keep',
  apply: 'build',
  generateBundle() {
    this.emitFile({
      type: 'asset',
      fileName: '.keep',
      source: '# Placeholder so that go:embed all:dist compiles before the SPA is built (run `make frontend`).\n',
    });
  },
};

export default defineConfig({
  plugins: [react(), keepPlaceholder],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
  },
  server: {
    // `npm run dev`: the API of a local `berth serve` (same origin from the browser's view).
    proxy: {
      '/graphql': { target: 'http://127.0.0.1:8080', ws: true },
    },
  },
});
