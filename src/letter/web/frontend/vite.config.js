// Builds the dashboard's islands into ../static/islands/, committed so a
// fresh machine needs only Python. CI rebuilds and fails on a difference.
import { defineConfig } from "vite";

export default defineConfig({
  logLevel: "warn",
  build: {
    outDir: "../static/islands",
    emptyOutDir: true,
    sourcemap: false,
    target: "es2020",
    rollupOptions: {
      input: { "body-editor": "src/body-editor.js", "flow-editor": "src/flow-editor.js" },
      output: {
        format: "es",
        entryFileNames: "[name].js",
        chunkFileNames: "[name].js",
        assetFileNames: "[name][extname]",
      },
    },
  },
});
