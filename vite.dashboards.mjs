// Builds the dashboard pages' script (web/dashboards/src: ECharts from node_modules) into
// web/static/dashboards/ — run by `make setup`. Fixed file names: the Flask page adds
// `?v=<mtime>` for cache busting. Only the ECharts charts and components render.js uses
// are bundled.
import { defineConfig } from 'vite'

export default defineConfig({
  build: {
    outDir: 'web/static/dashboards',
    emptyOutDir: true,
    sourcemap: true,
    chunkSizeWarningLimit: 1000,
    rollupOptions: {
      input: 'web/dashboards/src/main.js',
      output: {
        entryFileNames: 'dashboards.js',
        chunkFileNames: 'dashboards-[name].js',
        assetFileNames: 'dashboards[extname]',
      },
    },
  },
})
