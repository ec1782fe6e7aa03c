/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The build goes into the Python package, which `headwater api` serves under /ui/.
// `npm run dev` proxies API calls to HEADWATER_API (default http://127.0.0.1:8687).
const api = process.env.HEADWATER_API ?? "http://127.0.0.1:8687";
const apiPaths = [
  "/user", "/users", "/api-keys", "/sources", "/mappings", "/event-types", "/flows",
  "/rules", "/segments", "/merge-settings", "/secrets", "/events", "/profiles",
  "/sessions", "/stats", "/dashboard", "/console", "/actions", "/tenants", "/health",
  "/history", "/destinations", "/dead-letters", "/workers", "/openapi.json",
];

export default defineConfig({
  base: "/ui/",
  plugins: [react()],
  build: {
    outDir: "../headwater/console/web",
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
  },
  server: { proxy: Object.fromEntries(apiPaths.map((p) => [p, api])) },
  test: { environment: "jsdom", include: ["src/**/*.test.{ts,tsx}"] },
});
