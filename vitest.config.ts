import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    setupFiles: ["test/support/capture-logs.ts", "test/support/property-seeds.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    env: {
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: "local",
      AWS_SECRET_ACCESS_KEY: "local",
      // Handlers log everything they can; test/support/capture-logs.ts keeps it off the terminal
      // and proves no key or key hash is ever among it.
      POWERTOOLS_LOG_LEVEL: "DEBUG",
      POWERTOOLS_METRICS_DISABLED: "false",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    },
    reporters: ["default", ["json", { outputFile: ".local/test-report.json" }]],
  },
});
