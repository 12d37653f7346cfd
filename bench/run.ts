/**
 * `npm run bench`: what the service costs per call, held to the budgets in bench/budgets.json.
 * Prints a table, writes .bench/results.json, and exits 1 when a budget is missed. Timings are
 * ratios against a reference measured in the same run, so that a slower machine moves both.
 *
 *   npm run bench                       everything (about 5-6 minutes)
 *   npm run bench -- --only hot,cold    some sections: bundle, cold, hot, local, fleet
 *   npm run bench -- --only fleet --fleet-sizes 1,10   the fleet section for some fleet sizes only
 *   npm run bench -- --only fleet --fleet-designs python --python-workers 200   Python workers of the kit only
 *   npm run bench -- --only guards --guard-tasks 50    the runaway guards over 50 tasks (default 100)
 *   npm run bench -- --only sweep                      the sweep of idle signal queues over 10,000 queues
 *   npm run bench -- --only cleanup --cleanup-sizes 1000   cleanup runs at 1,000 running tasks (default 1000,10000,30000)
 *   npm run bench -- --only bulk --bulk-tasks 1000   a bulk stop of 1,000 running tasks beside 1,000 (default 10000)
 */
import { fork } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import * as esbuild from "esbuild";
import { esbuildOptions } from "../infra/bundling.js";
import { type BulkResults, measureBulk } from "./bulk.js";
import {
  buildAllBundles,
  type ColdInit,
  coldInitParts,
  coldInitVariants,
  compileCacheVariant,
  measureColdInit,
} from "./bundles.js";
import { type CleanupSizeResults, measureCleanup } from "./cleanup.js";
import { type FleetRun, type FleetStep, measureFleet } from "./fleet/measure.js";
import { type GuardsResults, measureGuards } from "./guards.js";
import type { HotPath, HotPathResults, InterleavedRatio, JudgedPath } from "./hot-path.js";
import { type LocalStackResults, measureLocalStack } from "./local-stack.js";
import { ensureNode22, nodeVersion } from "./node22.js";
import { measureSweep } from "./queue-sweep.js";
import { median, round } from "./stats.js";

// The SDK warns once per process that Node 20 support ends; the table is no place for it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

const sections = ["bundle", "cold", "hot", "local", "fleet", "guards", "sweep", "cleanup", "bulk"] as const;
type Section = (typeof sections)[number];

const { values: options } = parseArgs({
  options: {
    only: { type: "string" },
    "cold-runs": { type: "string", default: "25" },
    /** Where cold init and the hot path run: Lambda's Node 22 (judged) and this Node 20 beside it, or one of them. */
    runtimes: { type: "string", default: "22,20" },
    "hot-calls": { type: "string", default: "10000" },
    "fleet-sizes": { type: "string", default: "1,10,100,1000" },
    "fleet-designs": { type: "string", default: "per-worker,sns,shared,python" },
    "python-workers": { type: "string", default: "200" },
    "guard-tasks": { type: "string", default: "100" },
    "cleanup-sizes": { type: "string", default: "1000,10000,30000" },
    "bulk-tasks": { type: "string", default: "10000" },
  },
  strict: true,
});
const selected = new Set<Section>(
  options.only ? (options.only.split(",").map((name) => name.trim()) as Section[]) : sections,
);
for (const name of selected)
  if (!sections.includes(name)) throw new Error(`unknown section ${name}; one of ${sections.join(", ")}`);
const coldRuns = Math.max(20, Number(options["cold-runs"]));
const hotCalls = Number(options["hot-calls"]);

/** A goal the issue set, and where it is missed, the regression gate set from measurement. */
interface Goal {
  readonly target: number;
  readonly gate?: number;
}

interface Budgets {
  readonly bundleKiB: Record<string, number>;
  readonly bundleGoalKiB: Record<string, Goal>;
  readonly coldInitRatio: Record<string, number>;
  readonly coldInit: Record<"stop-task" | "get-task", { readonly naiveShare: Goal; readonly evaluateMs: Goal }>;
  readonly hotPath: Record<JudgedPath, Goal>;
  readonly awsCallsPerRequest: Record<string, number>;
  readonly localStackP50Goal: Goal;
  readonly fleet: {
    /** The issue's targets, for the design in use, at every fleet size. */
    readonly target: { readonly deadLettered: number; readonly stopToAbortP99Ms: number };
    /** Regression gates per fleet size, set from measurement where a target cannot be met locally (see README). */
    readonly gateP99Ms?: Record<string, number>;
    /** Python workers of the kit (issue 25): the targets, and a gate set from measurement if one is missed here. */
    readonly python: {
      readonly target: {
        readonly deadLettered: number;
        readonly resent: number;
        readonly flagged: number;
        readonly stopToHaltP99Ms: number;
      };
      readonly gateP99Ms?: number;
    };
  };
  readonly guards: { readonly crossingToStoppedP99Ms: number };
  readonly cleanup: {
    /** A steady run's Queries: one page per shard and job, whatever runs. */
    readonly steadyQueriesPerRun: number;
    /** Items a steady run reads: the due tasks only, and none is due. */
    readonly steadyItemsReadPerRun: number;
    readonly overdueLeftAfterTwoRuns: number;
  };
  /** A bulk stop of every running task of one organization (10,000 by default) on the local stack. */
  readonly bulk: { readonly lastStoppedMs: number };
}
const budgets = JSON.parse(readFileSync(new URL("./budgets.json", import.meta.url), "utf8")) as Budgets;

const workDirectory = resolve(".bench");
mkdirSync(workDirectory, { recursive: true });

interface BudgetCheck {
  readonly what: string;
  readonly actual: number;
  readonly budget: number;
  readonly met: boolean;
}
const checks: BudgetCheck[] = [];
function check(what: string, actual: number, budget: number | undefined): string {
  if (budget === undefined) return "";
  const met = actual <= budget;
  checks.push({ what, actual, budget, met });
  return met ? `<= ${budget} ok` : `<= ${budget} **MISSED**`;
}

/**
 * A goal beside its figure: "<= target ok", or, where the target is missed, "target <= T missed; gate <= G ok"
 * (only the gate fails the bench: it is set from measurement, to catch a regression).
 */
function goal(what: string, actual: number, budget: Goal): string {
  if (actual <= budget.target) return check(what, actual, budget.target);
  if (budget.gate === undefined) return check(what, actual, budget.target);
  return `target <= ${budget.target} missed; gate ${check(`${what} (gate)`, actual, budget.gate)}`;
}

interface GoalRow {
  readonly runtime: string;
  readonly what: string;
  readonly measured: number;
  readonly goal: Goal;
  readonly judged: boolean;
}
const goalRows: GoalRow[] = [];
/** Keeps a goal's figure for the closing table (every runtime's; only the judged one's counts). */
function recordGoal(runtime: string, what: string, measured: number, budget: Goal, judged: boolean): void {
  goalRows.push({ runtime, what, measured, goal: budget, judged });
}

/** Lambda's Node 22 first (its figures are judged), then this machine's Node 20 beside it. */
function runtimes(): { label: string; path: string; judged: boolean }[] {
  const wanted = new Set(options.runtimes.split(",").map((entry) => entry.trim()));
  const list: { label: string; path: string; judged: boolean }[] = [];
  if (wanted.has("22")) {
    const path = ensureNode22();
    list.push({ label: `Node ${nodeVersion(path).slice(1)} (Lambda's nodejs22.x)`, path, judged: true });
  }
  if (wanted.has("20") && !process.version.startsWith("v22."))
    list.push({ label: `Node ${process.version.slice(1)}`, path: process.execPath, judged: list.length === 0 });
  return list;
}

const lines: string[] = [];
const print = (line = "") => {
  lines.push(line);
  console.log(line);
};
const table = (header: readonly string[], rows: readonly (readonly (string | number)[])[]) => {
  print(`| ${header.join(" | ")} |`);
  print(`|${header.map(() => " --- ").join("|")}|`);
  for (const row of rows) print(`| ${row.join(" | ")} |`);
  print();
};

/** The hot path runs bundled like a function (no TypeScript loader), in a process of its own whose logs go nowhere. */
async function runHotPath(node: string): Promise<HotPathResults> {
  const file = join(workDirectory, "hot-path", "index.mjs");
  await esbuild.build({ ...esbuildOptions("bench/hot-path.ts", file), logLevel: "error" });
  const { hotPathEnvironment } = await import("./hot-path-environment.js");
  return new Promise((resolveResults, reject) => {
    const child = fork(file, ["--child", String(hotCalls)], {
      stdio: ["ignore", "ignore", "inherit", "ipc"],
      env: { PATH: process.env.PATH, ...hotPathEnvironment },
      execArgv: [],
      execPath: node,
    });
    let results: HotPathResults | undefined;
    child.on("message", (message) => {
      results = message as HotPathResults;
    });
    child.on("error", reject);
    child.on("exit", (code) =>
      results && code === 0 ? resolveResults(results) : reject(new Error(`the hot path run exited with ${code}`)),
    );
  });
}

const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  machine: {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memoryGiB: round(totalmem() / 2 ** 30),
  },
  budgets,
};

print(
  `stop-task bench, ${results.date as string}: Node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? "cpu"}`,
);
print();

let built: Awaited<ReturnType<typeof buildAllBundles>> | undefined;
if (selected.has("bundle") || selected.has("cold")) {
  built = await buildAllBundles(join(workDirectory, "bundles"));
  results.bundles = built;
}

if (selected.has("bundle") && built) {
  for (const bundle of built.functions) {
    const bundleGoal = budgets.bundleGoalKiB[bundle.name];
    if (bundleGoal) recordGoal("any", `bundle ${bundle.name} KiB`, bundle.kib, bundleGoal, true);
  }
  print("Bundle size (minified, as CDK bundles it: infra/bundling.ts)");
  print();
  table(
    ["function", "format", "KiB", "budget", "largest parts (KiB)"],
    [...built.functions, built.stopTaskCjs, built.bare, ...built.naive].map((bundle) => [
      bundle.name,
      bundle.format,
      bundle.kib,
      bundle.format !== "esm"
        ? ""
        : budgets.bundleGoalKiB[bundle.name]
          ? goal(`bundle ${bundle.name} KiB`, bundle.kib, budgets.bundleGoalKiB[bundle.name] as Goal)
          : check(`bundle ${bundle.name}`, bundle.kib, budgets.bundleKiB[bundle.name]),
      bundle.topPackages
        .slice(0, 4)
        .map((part) => `${part.name} ${part.kib}`)
        .join(", "),
    ]),
  );
}

if (selected.has("cold") && built) {
  const judgedNames = ["stop-task", "get-task"] as const;
  const coldResults: Record<string, unknown> = {};
  for (const { label, path, judged } of runtimes()) {
    const bundleOf = (name: string) => {
      const bundle = built?.functions.find((entry) => entry.name === name);
      if (!bundle) throw new Error(`no ${name} bundle`);
      return bundle;
    };
    const variants = judgedNames.map((name) => coldInitVariants(bundleOf(name)));
    const cached = judged ? judgedNames.map((name) => compileCacheVariant(bundleOf(name), path)) : [];
    const cold = measureColdInit(
      [
        ...built.functions,
        built.stopTaskCjs,
        ...cached,
        ...built.naive,
        ...variants.flatMap((variant) => [variant.builtinsOnly, variant.compileOnly]),
      ],
      built.bare,
      coldRuns,
      path,
    );
    const variantRows = cold.bundles.splice(-2 * variants.length);
    const coldOf = (name: string) => cold.bundles.find((entry) => entry.name === name) as ColdInit;
    const aboveBare = (entry: ColdInit) => entry.cpuMs - cold.bare.cpuMs;
    print(
      `Cold init on ${label} (median of ${coldRuns} fresh \`node\` processes, importing the bundle as deployed; ` +
        "ratio to the bare handler)",
    );
    print();
    const row = (entry: ColdInit, budget?: number) => [
      entry.name,
      entry.processMs,
      entry.importMs,
      entry.cpuMs,
      entry.ratio,
      budget === undefined || !judged ? "" : check(`cold init ${entry.name}`, entry.ratio, budget),
    ];
    table(
      ["bundle", "process ms", "import ms", "process CPU ms", "x bare (process ms)", "budget"],
      [
        row(cold.bare),
        ...cold.bundles.map((entry) =>
          row(
            entry,
            entry.name.endsWith("(esm)") ? budgets.coldInitRatio[entry.name.replace(" (esm)", "")] : undefined,
          ),
        ),
      ],
    );
    const naiveSummary = built.naive
      .map((bundle) => `${bundle.name} ${bundle.kib} KiB, ${coldOf(`${bundle.name} (esm)`).ratio}x`)
      .join("; ");
    print(`The issue's reference points (bench/naive-handler/): ${naiveSummary}.`);
    print();
    const perRuntime: Record<string, unknown> = { label, node: nodeVersion(path), ...cold };
    judgedNames.forEach((name, index) => {
      const [builtinsOnly, compileOnly] = variantRows.slice(2 * index, 2 * index + 2) as [ColdInit, ColdInit];
      const full = coldOf(`${name} (esm)`);
      const parts = coldInitParts(name, cold.bare, full, builtinsOnly, compileOnly);
      const share = round(aboveBare(full) / aboveBare(coldOf("naive, zod/mini (esm)")), 2);
      const cachedRow = judged ? coldOf(`${name}, compile cache (esm)`) : undefined;
      perRuntime[name] = { parts, naiveShare: share, compileCacheMs: cachedRow?.processMs };
      const goals = budgets.coldInit[name];
      const shareText = judged ? goal(`cold init ${name}: share of naive above bare`, share, goals.naiveShare) : "";
      const evaluateText = judged ? goal(`cold init ${name}: evaluation ms`, parts.evaluateMs, goals.evaluateMs) : "";
      print(
        `${name}: ${parts.aboveBareMs} CPU ms above the bare handler, ${share} of the naive zod/mini handler's ` +
          `(${shareText || "figure beside the judged runtime's"}); of it: Node built-ins ${parts.builtinsMs} ms, ` +
          `parsing and compiling ${bundleOf(name).kib} KiB ${parts.compileMs} ms, evaluating (module bodies, schemas, ` +
          `clients) ${parts.evaluateMs} ms${evaluateText ? ` (${evaluateText})` : ""}` +
          (cachedRow
            ? `; with a compile cache built for this Node: ${cachedRow.cpuMs} CPU ms (${round(full.cpuMs - cachedRow.cpuMs, 1)} less), ` +
              `${cachedRow.processMs} ms (${round(full.processMs - cachedRow.processMs, 1)} less)`
            : ""),
      );
      recordGoal(
        label,
        `cold init ${name}: share of the naive handler's time above bare`,
        share,
        goals.naiveShare,
        judged,
      );
      recordGoal(label, `cold init ${name}: evaluation ms above bare`, parts.evaluateMs, goals.evaluateMs, judged);
    });
    print();
    coldResults[label] = perRuntime;
  }
  results.coldInit = coldResults;
}

if (selected.has("hot")) {
  const hotResults: Record<string, unknown> = {};
  const ratioResults: Record<string, unknown> = {};
  for (const { label, path: node, judged: isJudged } of runtimes()) {
    const hot = await runHotPath(node);
    hotResults[label] = hot;
    const stopBaseline = hot.judged.success.baseline;
    print(
      `Hot path on ${label} (stop and get handlers, real SDK clients over an in-process transport; ${hot.calls} calls per path)`,
    );
    print();
    const callsBudget = (path: HotPath | "success_cold_key_cache", calls: readonly string[]) =>
      check(`AWS calls ${path}`, calls.length, budgets.awsCallsPerRequest[path]);
    const reference = (path: HotPath) => (path === "get_task" ? hot.judged.get_task.baseline : stopBaseline);
    table(
      ["path", "status", "median us", "p99 us", "CPU us/call", "x SDK (pooled medians)", "AWS calls", "calls budget"],
      [
        ...Object.entries(hot.paths).map(([path, entry]) => [
          path,
          entry.status,
          entry.medianUs,
          entry.p99Us,
          entry.cpuUs,
          round(entry.medianUs / reference(path as HotPath).medianUs, 2),
          entry.awsCalls.join(" + ").replaceAll("Command", "") || "none",
          callsBudget(path as HotPath, entry.awsCalls),
        ]),
        [
          "success, key not cached",
          hot.successColdKeyCache.status,
          "",
          "",
          "",
          "",
          hot.successColdKeyCache.awsCalls.join(" + ").replaceAll("Command", ""),
          callsBudget("success_cold_key_cache", hot.successColdKeyCache.awsCalls),
        ],
        ...Object.values(hot.judged).map((judged) => [
          `bare SDK: ${judged.baselineCalls}`,
          "",
          judged.baseline.medianUs,
          judged.baseline.p99Us,
          judged.baseline.cpuUs,
          1,
          judged.baselineCalls,
          "",
        ]),
      ],
    );
    const summaries: Record<string, unknown> = {};
    for (const [path, judged] of Object.entries(hot.judged) as [JudgedPath, InterleavedRatio][]) {
      const fast = [...judged.fastRepetitions].sort((a, b) => a - b);
      const ratio = round(judged.ratio, 2);
      summaries[path] = { ...judged, fastMedian: round(median(fast), 3) };
      print(
        `${path === "success" ? "Stop, success path" : "Get Task"}: ${ratio}x the bare ${judged.baselineCalls}, median of ` +
          `${judged.repetitions.length} repetitions of neighbouring blocks' ratios (95% interval of the median ` +
          `${round(judged.low, 3)}-${round(judged.high, 3)}, width ${round(judged.high - judged.low, 3)}; ` +
          `${isJudged ? goal(`hot path ${path} / bare SDK`, ratio, budgets.hotPath[path]) : "figure beside the judged runtime's"}); ` +
          `fastest tenth of the same pairs: ${round(median(fast), 2)}x`,
      );
      recordGoal(
        label,
        `hot path ${path === "success" ? "stop, success" : "Get Task"} / bare ${judged.baselineCalls}`,
        ratio,
        budgets.hotPath[path],
        isJudged,
      );
    }
    ratioResults[label] = summaries;
    print();
  }
  results.hotPath = hotResults;
  results.hotPathRatio = ratioResults;
}

if (selected.has("local")) {
  const local: LocalStackResults = await measureLocalStack(workDirectory, [
    { concurrency: 1, requests: 400 },
    { concurrency: 32, requests: 3000 },
  ]);
  results.localStack = local;
  print(
    `Local stack (\`npm start\`: DynamoDB Local + fauxqs; stops over HTTP vs the ` +
      `same run's bare SDK calls). Startup: ${round(local.startupMs / 1000, 1)} s`,
  );
  print();
  table(
    [
      "concurrency",
      "stop p50 ms",
      "stop p99 ms",
      "stops/s",
      "UpdateItem+SendMessage p50 ms",
      "x that",
      "GetItem p50 ms",
      "x GetItem",
      "budget",
    ],
    local.runs.map((run) => [
      run.concurrency,
      run.stop.p50Ms,
      run.stop.p99Ms,
      run.stop.requestsPerSecond,
      run.bareUpdateAndSend.p50Ms,
      run.ratioToUpdateAndSend,
      run.bareGetItem.p50Ms,
      run.ratioToGetItem,
      goal(`local stack p50 at concurrency ${run.concurrency}`, run.ratioToUpdateAndSend, budgets.localStackP50Goal),
    ]),
  );
  for (const run of local.runs)
    recordGoal(
      `Node ${process.version.slice(1)}`,
      `local stack p50 at concurrency ${run.concurrency} / bare UpdateItem + SendMessage`,
      run.ratioToUpdateAndSend,
      budgets.localStackP50Goal,
      true,
    );
}

if (selected.has("fleet")) {
  const sizes = options["fleet-sizes"].split(",").map((size) => Number(size.trim()));
  // Stops at a steady rate for the design in use. The old shared queue at 1,000 workers is sampled
  // with fewer stops, more slowly: on fauxqs each stop there costs some 20,000 empty receives.
  const designs = new Set(options["fleet-designs"].split(",").map((design) => design.trim()));
  const plan = (workers: number): FleetStep[] =>
    [
      { design: "per-worker" as const, workers, stops: Math.max(40, Math.min(400, workers * 2)), stopsPerSecond: 20 },
      { design: "sns" as const, workers, stops: Math.max(40, Math.min(400, workers * 2)), stopsPerSecond: 20 },
      workers >= 1000
        ? { design: "shared" as const, workers, stops: 20, stopsPerSecond: 2 }
        : {
            design: "shared" as const,
            workers,
            stops: Math.max(40, Math.min(200, workers * 2)),
            stopsPerSecond: workers >= 100 ? 5 : 20,
          },
    ].filter((step) => designs.has(step.design));
  // Python workers of the kit run once, at their own size (--python-workers), after the sweep.
  const pythonWorkers = Number(options["python-workers"]);
  const pythonSteps: FleetStep[] = designs.has("python")
    ? [
        {
          design: "python",
          workers: pythonWorkers,
          stops: Math.max(40, Math.min(400, pythonWorkers * 2)),
          stopsPerSecond: 20,
        },
      ]
    : [];
  const fleet = await measureFleet(workDirectory, [...sizes.flatMap(plan), ...pythonSteps], (run) =>
    console.error(
      `  fleet: ${run.design} x${run.workers}: p99 ${run.p99Ms} ms, ${run.deadLettered} dead-lettered, ${run.seconds} s`,
    ),
  );
  results.fleet = fleet;
  const designNames: Record<FleetRun["design"], string> = {
    "per-worker": "queue per worker (in use)",
    sns: "SNS topic, filter per worker",
    shared: "shared queue (old, reference)",
    python: "Python workers of the kit (queue per worker)",
  };
  const designName = (run: FleetRun) => designNames[run.design];
  const typeScriptRuns = fleet.runs.filter((run) => run.design !== "python");
  if (typeScriptRuns.length > 0) {
    print(
      `Fleet (\`npm start\` stack; N reference workers in one process, heartbeat ` +
        `every ${fleet.heartbeatIntervalMs / 1000} s; stops over HTTP to ` +
        `the real stop handler in its own process; time from the request to the ` +
        `task's AbortSignal). Startup: ${round(fleet.startupMs / 1000, 1)} s`,
    );
    print();
    const { target } = budgets.fleet;
    table(
      [
        "design",
        "workers",
        "stops (rate/s)",
        "halted by message / heartbeat / not",
        "dead-lettered",
        "p50 ms",
        "p99 ms",
        "API answer p50 / p99 ms",
        "receives per stop",
        "stop fn AWS calls per stop",
        "budget",
      ],
      typeScriptRuns.map((run) => {
        const gate = budgets.fleet.gateP99Ms?.[String(run.workers)];
        const budget =
          run.design === "per-worker"
            ? [
                check(`fleet x${run.workers} dead-lettered`, run.deadLettered, target.deadLettered),
                run.p99Ms <= target.stopToAbortP99Ms
                  ? `p99 ${check(`fleet x${run.workers} p99 ms`, run.p99Ms, target.stopToAbortP99Ms)}`
                  : `p99 target ${target.stopToAbortP99Ms} ` +
                    `missed; gate ${check(`fleet x${run.workers} p99 ms (gate)`, run.p99Ms, gate ?? target.stopToAbortP99Ms)}`,
              ].join("; ")
            : "";
        return [
          designName(run),
          run.workers,
          `${run.stops} (${run.stopsPerSecond})`,
          `${run.abortedByMessage} / ${run.abortedByHeartbeat} / ${run.notAborted}`,
          run.deadLettered,
          run.p50Ms,
          run.p99Ms,
          `${run.answerP50Ms} / ${run.answerP99Ms}`,
          run.receivesPerStop,
          `${run.stopFunctionCallsPerStop} (${Object.entries(run.stopFunctionCalls)
            .map(([name, count]) => `${name} ${count}`)
            .join(", ")})`,
          budget,
        ];
      }),
    );
    for (const run of typeScriptRuns.filter((entry) => entry.workers === Math.max(...sizes))) {
      const parts = Object.entries(run.stopFunctionCallMs)
        .map(([name, ms]) => `${name} p50 ${ms.p50} / p99 ${ms.p99} ms`)
        .join(", ");
      print(
        `- ${designName(run)}, ${run.workers} workers: the API answered in p50 ${run.answerP50Ms} ` +
          `/ p99 ${run.answerP99Ms} ms, of which the stop function's calls: ${parts}`,
      );
    }
    print();
    print(
      `The shared queue dead-letters after ${fleet.sharedQueueMaxReceives} ` +
        `receives; its stops at 1,000 workers are a sample (fewer, slower), since ` +
        "each costs the emulator some 20,000 empty receives there (fauxqs answers every waiting long poll at " +
        "each new or released message). A stop whose message was lost halts at its task's next heartbeat. " +
        "\"API answer\" is the stop request's own time (the stop function's UpdateItem " +
        "and SendMessage on the emulators); the rest of a stop-to-abort is delivery.",
    );
    print();
  }

  for (const run of fleet.runs.filter((entry) => entry.design === "python")) {
    const kit = run.kit;
    if (!kit) continue;
    const { target: kitTarget, gateP99Ms } = budgets.fleet.python;
    const size = `x${run.workers}`;
    print(
      `Python workers of the kit (workers/python/stop_task_worker): ${run.workers} ReferenceWorkers, ` +
        `${kit.processes} Python processes x ${kit.workersPerProcess} workers (each worker its own boto3 clients, ` +
        `queue and long-poll thread; a heartbeat thread per task, every ${fleet.heartbeatIntervalMs / 1000} s; ` +
        `tasks alternate asyncio / thread); stops over HTTP to the real stop handler; time from just before the ` +
        "request to the task's body letting go in Python, on the wall clock (epoch ms) of both processes.",
    );
    print();
    table(
      [
        "workers",
        "stops (rate/s)",
        "halted by message / heartbeat / not",
        "asyncio / thread",
        "dead-lettered",
        "re-sent (cleanup re-drive past ack timeout)",
        "flagged",
        "acknowledged",
        "p50 ms",
        "p99 ms",
        "max ms",
        "API answer p50 / p99 ms",
        "receives per stop",
        "budget",
      ],
      [
        [
          `${run.workers} (${kit.processes} x ${kit.workersPerProcess})`,
          `${run.stops} (${run.stopsPerSecond})`,
          `${run.abortedByMessage} / ${run.abortedByHeartbeat} / ${run.notAborted}`,
          `${kit.asyncioHalts} / ${kit.threadHalts}`,
          run.deadLettered,
          `${kit.resent} (${kit.redrivenByCleanup})`,
          kit.flagged,
          `${kit.acknowledged} / ${run.stops}`,
          run.p50Ms,
          run.p99Ms,
          run.maxMs,
          `${run.answerP50Ms} / ${run.answerP99Ms}`,
          run.receivesPerStop,
          [
            `dead-lettered ${check(`python fleet ${size} dead-lettered`, run.deadLettered, kitTarget.deadLettered)}`,
            `re-sent ${check(`python fleet ${size} re-sent`, kit.resent, kitTarget.resent)}`,
            `flagged ${check(`python fleet ${size} flagged`, kit.flagged, kitTarget.flagged)}`,
            // Every stop acknowledged: the ones not acknowledged must be none.
            `unacknowledged ${check(`python fleet ${size} unacknowledged`, run.stops - kit.acknowledged, 0)}`,
            `not halted ${check(`python fleet ${size} not halted`, run.notAborted, 0)}`,
            run.p99Ms <= kitTarget.stopToHaltP99Ms || gateP99Ms === undefined
              ? `p99 ${check(`python fleet ${size} p99 ms`, run.p99Ms, kitTarget.stopToHaltP99Ms)}`
              : `p99 target ${kitTarget.stopToHaltP99Ms} missed; gate ${check(`python fleet ${size} p99 ms (gate)`, run.p99Ms, gateP99Ms)}`,
          ].join("; "),
        ],
      ],
    );
    const parts = Object.entries(run.stopFunctionCallMs)
      .map(([name, ms]) => `${name} p50 ${ms.p50} / p99 ${ms.p99} ms`)
      .join(", ");
    print(
      "Re-sent counts the records' signal_attempts plus what one cleanup run (its real handler, its clock " +
        "past the acknowledgement timeout) re-sent; flagged, the records' signal_delivery_failed_at and " +
        `the run's flags. The stop function's calls: ${parts}.`,
    );
    print();
  }
}

if (selected.has("guards")) {
  const guards: GuardsResults = await measureGuards(workDirectory, {
    tasks: Number(options["guard-tasks"]),
    tasksPerWorker: 10,
    limit: 1000,
    intervalMs: 500,
    tokensPerReport: [50, 400],
  });
  results.guards = guards;
  print(
    `Runaway guards (\`npm start\` stack, its stream poller and the real stream handler; ${guards.tasks} tasks, ` +
      `${guards.tasksPerWorker} per reference worker, each reporting its tokens every ${guards.intervalMs} ms, ` +
      `${guards.tokensPerReport[0]}-${guards.tokensPerReport[1]} tokens a report, against an organization default ` +
      `max_tokens of ${guards.limit}). Startup: ${round(guards.startupMs / 1000, 1)} s, run: ${guards.seconds} s`,
  );
  print();
  table(
    ["measure", "p50", "p99", "max", "budget"],
    [
      [
        "crossing write to stopped record, ms",
        guards.crossingToStoppedP50Ms,
        guards.crossingToStoppedP99Ms,
        guards.crossingToStoppedMaxMs,
        check(
          "guards crossing to stopped record p99 ms",
          guards.crossingToStoppedP99Ms,
          budgets.guards.crossingToStoppedP99Ms,
        ),
      ],
      [
        "crossing write to the worker's receipt of the stop, ms",
        guards.crossingToAbortP50Ms,
        guards.crossingToAbortP99Ms,
        guards.crossingToAbortMaxMs,
        "",
      ],
      ["overshoot past the limit, tokens", guards.overshootP50Tokens, "", guards.overshootMaxTokens, ""],
      [
        "usage reports written after the crossing one",
        guards.reportsAfterCrossingP50,
        "",
        guards.reportsAfterCrossingMax,
        "",
      ],
    ],
  );
  print(
    `Stopped: ${guards.stopped} of ${guards.tasks} (${guards.notStopped} not); the worker heard by ` +
      `its stop message ${guards.abortedByMessage}, by its heartbeat ${guards.abortedByHeartbeat}. ` +
      "Overshoot is the last total a task reported minus the limit: the crossing " +
      "report's own excess, plus any report written before the stop reached the worker.",
  );
  print();
}

if (selected.has("sweep")) {
  const sweep = await measureSweep({ workerQueues: 9_000, environmentQueues: 1_000, idleEvery: 5 });
  results.sweep = sweep;
  const total = sweep.workerQueues + sweep.environmentQueues;
  print(
    `Sweep of idle signal queues (the cleanup's handler, hourly input; fauxqs behind a proxy that pages ListQueues ` +
      `as SQS does): ${sweep.workerQueues} worker and ${sweep.environmentQueues} environment queues, ${sweep.idle} ` +
      `of them idle for two days; cap ${sweep.cap} a run. Setup: ${round(sweep.setupSeconds, 1)} s`,
  );
  print();
  table(
    ["run", "listed", "judged", "deleted", "failures", "truncated", "SQS calls", "seconds"],
    sweep.runs.map((run, index) => [
      index + 1,
      run.listed,
      run.examined,
      run.deleted,
      run.failures,
      String(run.truncated),
      Object.entries(run.calls)
        .map(([operation, count]) => `${operation} ${count}`)
        .join(", "),
      round(run.seconds, 2),
    ]),
  );
  const runsToDeleteAll = sweep.runs.findIndex(
    (_, index) => sweep.runs.slice(0, index + 1).reduce((sum, run) => sum + run.deleted, 0) === sweep.idle,
  );
  print(
    `Every idle queue deleted after ${runsToDeleteAll + 1} runs ` +
      `(${check("sweep runs to delete every idle queue", runsToDeleteAll + 1, Math.ceil(total / sweep.cap))}); ` +
      `${sweep.left} queues left, of ${total - sweep.idle} live.`,
  );
  print();
}

if (selected.has("cleanup")) {
  const sizes = options["cleanup-sizes"].split(",").map((size) => Number(size.trim()));
  const cleanup: readonly CleanupSizeResults[] = await measureCleanup(workDirectory, sizes);
  results.cleanup = cleanup;
  print(
    "Cleanup runs (`npm start` stack per size, the stream processor writing deadlines, each run as `npm run " +
      "cleanup` wires it, its clock held at the seeding; five organizations: default max_duration_seconds 600, " +
      "3,600 x3, none; starts spread over each one's limit, up to 5.5 h; one task in 500 with its own limit)",
  );
  print();
  for (const size of cleanup) {
    print(
      `${size.runningTasks.toLocaleString("en")} running tasks, ${size.overdue} overdue, ${size.ownLimits} with ` +
        `their own limit: seeded in ${size.seedSeconds} s (BatchWriteItem), every deadline written by the stream ` +
        `${size.deadlinesSeconds} s later`,
    );
    print();
    const steady = size.runs.at(-1);
    table(
      [
        "run",
        "items read",
        "Query calls",
        "UpdateItem calls",
        "stopped (guard)",
        "stopped (6 h)",
        "rewritten",
        "truncated",
        "ms",
      ],
      [...size.runs, size.steadyAfterRewrite].map((run) => [
        run.run,
        run.itemsRead,
        run.queries,
        run.writes,
        run.stoppedByGuard,
        run.stoppedOverlong,
        run.deadlinesRewritten,
        run.truncated ? "yes" : "no",
        run.ms,
      ]),
    );
    print(
      `Overdue still running after two runs: ${size.overdueLeftAfterTwoRuns} ` +
        `(${check(`cleanup ${size.runningTasks} overdue left after two runs`, size.overdueLeftAfterTwoRuns, budgets.cleanup.overdueLeftAfterTwoRuns)}); ` +
        `healthy tasks stopped: ${size.healthyStopped}. Steady run: ${steady?.itemsRead} items read ` +
        `(${check(`cleanup ${size.runningTasks} steady items read`, steady?.itemsRead ?? Number.POSITIVE_INFINITY, budgets.cleanup.steadyItemsReadPerRun)}), ` +
        `${steady?.queries} Queries (${check(`cleanup ${size.runningTasks} steady queries`, steady?.queries ?? Number.POSITIVE_INFINITY, budgets.cleanup.steadyQueriesPerRun)}). ` +
        `A default raised: ${size.rewrite.runs} runs rewrote ${size.rewrite.rewritten} deadlines, reading ` +
        `${size.rewrite.itemsRead} items in all.`,
    );
    print();
  }
}

if (selected.has("bulk")) {
  const bulk: BulkResults = await measureBulk(workDirectory, { tasks: Number(options["bulk-tasks"]) });
  results.bulk = bulk;
  print(
    `Bulk stop (\`npm start\` stack, its stream poller and the real stream handler indexing; the bulk stop function ` +
      `in this process, its clients counted, its runs from a jobs queue of the bench's own): ` +
      `${bulk.tasks.toLocaleString("en")} running tasks of org-bench-a beside ${bulk.tasks.toLocaleString("en")} of ` +
      `org-bench-b, same agent; \`{"scope": {"agent_id": "agent-bench"}}\`. Startup ${bulk.startupSeconds} s, ` +
      `seeding ${bulk.seedSeconds} s (BatchWriteItem), all indexed ${bulk.indexedSeconds} s after`,
  );
  print();
  table(
    ["measure", "p50", "p99", "max", "budget"],
    [
      [
        "request to the task's stopped record, ms",
        bulk.requestToStoppedP50Ms,
        bulk.requestToStoppedP99Ms,
        bulk.lastStoppedMs,
        `last ${check(`bulk ${bulk.tasks} request to last stopped ms`, bulk.lastStoppedMs, budgets.bulk.lastStoppedMs)}`,
      ],
    ],
  );
  print(
    `Stopped ${bulk.stopped} of ${bulk.tasks}, not stopped ${bulk.notStopped} ` +
      `(${check(`bulk ${bulk.tasks} not stopped`, bulk.notStopped, 0)}), ${bulk.stopsPerSecond} stops/s; ` +
      `stopped twice or by another (version not 1, stopped_by not this bulk stop's) ${bulk.stoppedTwiceOrByOther} ` +
      `(${check(`bulk ${bulk.tasks} stopped twice or by another`, bulk.stoppedTwiceOrByOther, 0)}). ` +
      `202 in ${bulk.requestMs} ms (matched ${bulk.matched}); done ${round(bulk.doneMs / 1000, 1)} s after the ` +
      `request, in ${bulk.runs} run(s); the bulk stop's counts: stopped ${bulk.counts.stopped}, failed ` +
      `${bulk.counts.failed}, already terminal ${bulk.counts.already_terminal}.`,
  );
  print(
    `AWS calls: ${bulk.calls} (${bulk.requestCalls} for the request), ${bulk.callsPerStopped} per stopped task: ` +
      `${Object.entries(bulk.callsByCommand)
        .sort(([, a], [, b]) => b - a)
        .map(([command, count]) => `${command} ${count}`)
        .join(", ")}; executions items read by Queries ${bulk.itemsRead}.`,
  );
  print(
    `Tenancy: recorded requests naming org-bench-b or one of its tasks ${bulk.tenancy.requestsNamingOther} ` +
      `(${check(`bulk ${bulk.tasks} requests naming the other organization`, bulk.tenancy.requestsNamingOther, 0)}); ` +
      `Queries outside org-bench-a's four partitions ${bulk.tenancy.queriesOutsideOwnPartitions} of ` +
      `${bulk.tenancy.queries} ` +
      `(${check(`bulk ${bulk.tasks} queries outside own partitions`, bulk.tenancy.queriesOutsideOwnPartitions, 0)}); ` +
      `org-bench-b items not deep-equal to before ${bulk.tenancy.otherItemsChanged} ` +
      `(${check(`bulk ${bulk.tasks} other organization's items changed`, bulk.tenancy.otherItemsChanged, 0)}).`,
  );
  print();
}

if (goalRows.length > 0) {
  print("Goals of issue 28, each beside its measured figure (judged: Lambda's Node 22; Node 20 beside it)");
  print();
  const judgedRows = goalRows.filter((row) => row.judged);
  table(
    ["goal", "target", "measured", "Node 20 beside", "verdict", "regression gate (bench/budgets.json)"],
    judgedRows.map((row) => {
      const beside = goalRows.find((other) => !other.judged && other.what === row.what);
      const met = row.measured <= row.goal.target;
      return [
        row.what,
        `<= ${row.goal.target}`,
        row.measured,
        beside?.measured ?? "",
        met ? "met" : "missed",
        row.goal.gate === undefined ? "" : `<= ${row.goal.gate} ${row.measured <= row.goal.gate ? "ok" : "**FAILED**"}`,
      ];
    }),
  );
  results.goals = goalRows;
}

results.checks = checks;
const missed = checks.filter((entry) => !entry.met);
print(
  missed.length === 0
    ? `All ${checks.length} budgets met.`
    : `${missed.length} of ${checks.length} ` +
        `budgets MISSED: ${missed.map((entry) => `${entry.what} ${entry.actual} > ${entry.budget}`).join("; ")}`,
);
writeFileSync(join(workDirectory, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(join(workDirectory, "results.md"), `${lines.join("\n")}\n`);
console.log(`\nwrote ${join(".bench", "results.json")} and ${join(".bench", "results.md")}`);
process.exit(missed.length === 0 ? 0 : 1);
