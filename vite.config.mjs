// Builds the designer island (web/design/src) into web/static/design/ — run by `make setup`.
// Fixed file names: the Flask page adds `?v=<mtime>` for cache busting.
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

export default defineConfig({
  plugins: [vue()],
  build: {
    outDir: 'web/static/design',
    emptyOutDir: true,
    sourcemap: true,
    // One bundle for the designer page (Vue, SortableJS and CodeMirror): ~0.6 MB, ~200 kB gzipped.
    chunkSizeWarningLimit: 1000,
    rollupOptions: {
      input: 'web/design/src/main.js',
      output: {
        entryFileNames: 'designer.js',
        chunkFileNames: 'designer-[name].js',
        assetFileNames: 'designer[extname]',
      },
    },
  },
  test: {
    environment: 'happy-dom',
    include: ['web/design/src/**/*.test.js', 'web/dashboards/src/**/*.test.js'],
  },
})
