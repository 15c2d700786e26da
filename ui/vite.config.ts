import { defineConfig } from "vitest/config";
import { svelte } from "@sveltejs/vite-plugin-svelte";

// Tauri serves ui/dist in release builds and devUrl (this server) in `tauri dev`.
export default defineConfig({
  plugins: [svelte()],
  clearScreen: false,
  server: { port: 1420, strictPort: true },
  build: { outDir: "dist", emptyOutDir: true, target: "es2022" },
  // app.css is read as text by a test (the dark theme's two blocks agree).
  test: { environment: "node", include: ["src/**/*.test.ts"], css: { include: [/app\.css/] } },
});
