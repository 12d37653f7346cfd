import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { markdownTableRows } from "../support/doc-tables.js";
import { synthesizeStage } from "./synth.js";

/**
 * cfn-lint (AWS's CloudFormation linter, installed on every machine of this kind) on the template
 * each stage synthesizes: no error, and no warning that docs/deploy.md does not list with its reason.
 */

interface LintMatch {
  readonly Level: "Error" | "Warning" | "Informational";
  readonly Message: string;
  readonly Rule: { readonly Id: string };
  readonly Location: { readonly Path: readonly (string | number)[] };
}

const CFN_LINT_VERSION = "1.51";
const acceptedWarnings = markdownTableRows("docs/deploy.md", "### cfn-lint warnings kept").map(
  ([rule = "", resources = "", reason = ""]) => ({
    rule,
    resourcePrefixes: resources.split(",").map((prefix) => prefix.trim()),
    reason,
  }),
);

const workDir = mkdtempSync(join(tmpdir(), "stop-task-cfn-lint-"));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

function lint(stage: "dev" | "prod"): LintMatch[] {
  const file = join(workDir, `stop-task-${stage}.template.json`);
  writeFileSync(file, JSON.stringify(synthesizeStage(stage).template.toJSON(), null, 1));
  try {
    execFileSync("cfn-lint", ["--format", "json", "--", file], { encoding: "utf8", stdio: "pipe" });
    return [];
  } catch (failure) {
    // cfn-lint exits non-zero whenever it matched something (2 errors, 4 warnings, 8 informational); the JSON is on stdout.
    const { stdout, status } = failure as { stdout?: string; status?: number };
    if (!stdout || status === undefined || status === null || status > 15) throw failure;
    return JSON.parse(stdout) as LintMatch[];
  }
}

describe("cfn-lint", () => {
  it(`is version ${CFN_LINT_VERSION}, the one this list of warnings was made with`, () => {
    expect(execFileSync("cfn-lint", ["--version"], { encoding: "utf8" }).trim()).toBe(`cfn-lint ${CFN_LINT_VERSION}.0`);
  });

  it("lists every kept warning with a reason", () => {
    expect(acceptedWarnings.length).toBeGreaterThan(0);
    for (const { rule, resourcePrefixes, reason } of acceptedWarnings) {
      expect(rule).toMatch(/^W\d{4}$/);
      expect(resourcePrefixes.every((prefix) => prefix.length > 0)).toBe(true);
      expect(reason.length, rule).toBeGreaterThan(20);
    }
  });

  it.each(["dev", "prod"] as const)(
    "passes the %s template with no error, and no warning beyond docs/deploy.md's list",
    (stage) => {
      const matches = lint(stage);
      const show = (match: LintMatch) => `${match.Rule.Id} ${match.Location.Path.join("/")}: ${match.Message}`;
      expect(matches.filter((match) => match.Level === "Error").map(show)).toEqual([]);
      const isAccepted = (match: LintMatch) => {
        const resource = String(match.Location.Path[0] === "Resources" ? match.Location.Path[1] : "");
        return acceptedWarnings.some(
          ({ rule, resourcePrefixes }) =>
            rule === match.Rule.Id && resourcePrefixes.some((prefix) => resource.startsWith(prefix)),
        );
      };
      expect(matches.filter((match) => !isAccepted(match)).map(show)).toEqual([]);
      // A row nothing matches any more is stale: the list says what the template still has.
      for (const { rule, resourcePrefixes } of acceptedWarnings)
        for (const prefix of resourcePrefixes)
          expect(
            matches.some((match) => match.Rule.Id === rule && String(match.Location.Path[1] ?? "").startsWith(prefix)),
            `${rule} ${prefix}`,
          ).toBe(true);
    },
    120_000,
  );
});
