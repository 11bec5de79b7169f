// graphile-worker's side of `scripts/bench`: a scratch database on the same PostgreSQL,
// `jobs` no-op jobs added with addJobs in batches of 1,000, then drained by one runner
// (concurrency 24, a local queue of 500, as graphile-worker's own benchmark tunes it).
// Prints one JSON line: {"enqueue_per_s": …, "drain_per_s": …, "jobs": …}.
import pg from "pg";
import { Logger, run, makeWorkerUtils } from "graphile-worker";

const server = process.env.KCF_BENCH_PG ?? "postgres://postgres@127.0.0.1:5432/postgres";
const jobs = Number(process.argv[2] ?? 50000);
const name = `kcf_bench_graphile_${process.pid}`;
const admin = new pg.Client({ connectionString: server });
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
const url = new URL(server);
url.pathname = `/${name}`;
const connectionString = url.toString();
// Quiet, so the one line printed is the result.
const logger = new Logger(() => (level, message) => {
  if (level === "error") console.error(message);
});
// One pool for both, ended before the scratch database is dropped.
const pgPool = new pg.Pool({ connectionString, max: 30 });
pgPool.on("error", () => {});
let result;
try {
  const utils = await makeWorkerUtils({ pgPool, logger });
  await utils.migrate();
  const added = performance.now();
  for (let i = 0; i < jobs; i += 1000) {
    const batch = [];
    for (let j = i; j < Math.min(i + 1000, jobs); j++) {
      batch.push({ identifier: "noop", payload: { i: j } });
    }
    await utils.addJobs(batch);
  }
  const enqueue = jobs / ((performance.now() - added) / 1000);
  await utils.release();

  let done = 0;
  let finished;
  const all = new Promise((resolve) => (finished = resolve));
  const started = performance.now();
  const runner = await run({
    pgPool,
    concurrency: 24,
    noHandleSignals: true,
    pollInterval: 1000,
    logger,
    preset: { worker: { localQueue: { size: 500 } } },
    taskList: {
      noop: async () => {
        done += 1;
        if (done === jobs) finished();
      },
    },
  });
  await all;
  const drain = jobs / ((performance.now() - started) / 1000);
  await runner.stop();
  result = { enqueue_per_s: Math.round(enqueue), drain_per_s: Math.round(drain), jobs };
} finally {
  await pgPool.end().catch(() => {});
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
  await admin.end();
}
console.log(JSON.stringify(result));
