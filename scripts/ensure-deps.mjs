#!/usr/bin/env node
// Runs `npm ci` when node_modules is missing or older than the lockfile, so `npm start` and
// `npm test` work on a fresh clone with no step before them. Dependency-free on purpose.
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";

const lockfile = "package-lock.json";
const installedMarker = "node_modules/.package-lock.json";

const reason = !existsSync(installedMarker)
  ? "node_modules is missing"
  : statSync(installedMarker).mtimeMs < statSync(lockfile).mtimeMs
    ? "node_modules is older than package-lock.json"
    : undefined;

if (reason) {
  console.log(`[ensure-deps] ${reason}: running npm ci`);
  const result = spawnSync("npm", ["ci", "--no-audit", "--no-fund"], { stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
