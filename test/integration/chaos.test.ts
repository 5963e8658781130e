/**
 * The whole pipeline under chaos (issue #7): a generated messy chain delivered out of order over
 * poll cycles (options before and after their lines, re-uploads, a changed version, a touched
 * file), with crashes in every named window of the poller, the shard processor and the compaction
 * write, extra random crashes, throttling, and a reshard mid-stream. Every stage is restarted
 * after a crash as a fresh process would be. At the end the snapshot equals an independent DuckDB
 * recomputation from the delivered files, the aggregates table equals a clean run's over the
 * same deliveries, and every ingest report adds up. `TILLSTREAM_CHAOS_SEED` replays a plan.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateChain } from '../../ingest/generator/index.js';
import { Random } from '../../ingest/generator/random.js';
import { type PollDependencies, PollStep, runPollCycle } from '../../ingest/poll.js';
import { FileStatus } from '../../ingest/report.js';
import { runCompaction } from '../../processors/compaction/job.js';
import { CompactionStep, exportSnapshot, readManifest } from '../../processors/compaction/snapshot.js';
import {
  compareMarts,
  formatDifferences,
  readExportedMarts,
  recomputeMarts,
  reconcile,
} from '../../processors/reconcile/index.js';
import { CrashWindow, InjectedCrash } from '../../processors/shard/flush.js';
import { runShardProcessors } from '../../processors/shard/runner.js';
import { createClients } from '../../shared/aws/clients.js';
import {
  type ChaosPlan,
  ChaosSource,
  type ChaosStack,
  ChaosStage,
  CrashSchedule,
  chaosSeed,
  comparableAggregates,
  countCsvRecords,
  FaultKind,
  FaultTally,
  InjectedFault,
  listIngestReports,
  planChaos,
  readGeneratedChain,
  sha256,
  splitOneShard,
  startChaosStack,
  throttlePutRecords,
  writeArrivalFolder,
} from '../support/chaos.js';
import { injectThrottling, scanAll } from '../support/processor-fixtures.js';

const SEED = chaosSeed(process.env);
const START = '2023-03-06';
const DAYS = 6;
/** The last generated local date: every order is on or before it. */
const AS_OF = '2023-03-11';
const CODE_VERSION = 'chaos';
/** Restarts of one stage in one cycle before the test gives up (a stage that never converges). */
const MAX_ATTEMPTS = 25;
const processorRetry = { baseDelayMs: 5, maxDelayMs: 100, maxAttempts: 12 } as const;

/** One side of the comparison: a stack and the shared folder its poller lists. */
interface Side {
  readonly stack: ChaosStack;
  readonly source: ChaosSource;
}

describe('the whole pipeline under chaos', () => {
  let work: string;
  let chaos: Side;
  let clean: Side;

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'tillstream-chaos-'));
    const [chaosStack, cleanStack] = await Promise.all([
      startChaosStack(path.join(work, 'state-chaos')),
      startChaosStack(path.join(work, 'state-clean')),
    ]);
    chaos = { stack: chaosStack, source: new ChaosSource('chaos://shared-folder') };
    clean = { stack: cleanStack, source: new ChaosSource('chaos://shared-folder') };
  });

  afterAll(async () => {
    await chaos?.stack.close();
    await clean?.stack.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('ends exact after crashes in every window of every stage, throttling, a reshard and messy deliveries', async () => {
    // Prepare: a small messy chain and the seeded plan of its deliveries and faults
    console.log(`chaos seed ${SEED} (TILLSTREAM_CHAOS_SEED=${SEED} replays this plan)`);
    const generated = path.join(work, 'generated');
    await generateChain({
      outDir: generated,
      locations: 3,
      days: DAYS,
      seed: SEED,
      startDate: START,
      ordersPerLocationDay: 15,
      profile: 'messy',
    });
    const { settings } = chaos.stack;
    const plan: ChaosPlan = planChaos(await readGeneratedChain(generated), SEED, {
      startMs: Math.floor(Date.now() / 1000) * 1000,
      orphanGraceDays: settings.orphanGraceDays,
    });
    // One stream per use, forked in a fixed order, so one use's draws never shift another's.
    const random = Random.fromSeed(SEED).fork();
    const batchRandom = random.fork();
    const pauseRandom = random.fork();
    const tally = new FaultTally();
    for (const [name, count] of plan.deliveryFaults)
      tally.record(ChaosStage.Source, FaultKind.Delivery, name, count);

    const chaosNames = chaos.stack.names;
    const pollerClients = createClients({ kind: 'local', endpoints: chaos.stack.endpoints });
    throttlePutRecords(pollerClients.kinesis, 0.15, random.fork(), () =>
      tally.record(ChaosStage.Poller, FaultKind.Throttle, 'Kinesis.PutRecords'),
    );
    const processorClients = createClients({ kind: 'local', endpoints: chaos.stack.endpoints });
    const throttles = injectThrottling(processorClients, 0.1, SEED);
    const pollerCrashes = new CrashSchedule(random.fork(), Object.values(PollStep), 0.02);
    const processorCrashes = new CrashSchedule(random.fork(), Object.values(CrashWindow), 0.01);
    const batchSizes = [5, 9, 13, 17, 40] as const;
    const visibilityViolations: string[] = [];
    const pollerBackoff = {
      baseDelayMs: 2,
      maxDelayMs: 50,
      random: (() => {
        const jitter = random.fork();
        return () => jitter.float();
      })(),
    };

    /** The processors until every shard is caught up, restarted after each crash. */
    const processChaos = async (crashes: boolean): Promise<void> => {
      for (let attempt = 1; ; attempt++) {
        if (attempt > MAX_ATTEMPTS)
          throw new Error(`processors did not converge in ${MAX_ATTEMPTS} attempts`);
        // A crashed process stops every shard: the others die at their next window.
        let dead = false;
        try {
          await runShardProcessors(processorClients.kinesis, processorClients.doc, chaosNames, {
            batchMaxRecords: batchRandom.pick(batchSizes),
            batchMaxWaitMs: 30,
            idlePollMs: 20,
            untilCaughtUp: true,
            retry: processorRetry,
            crashAt: (window) => {
              if (dead) throw new InjectedCrash(window);
              const kind = crashes ? processorCrashes.decide(window) : null;
              if (kind === null) return;
              dead = true;
              tally.record(ChaosStage.Processor, kind, window);
              throw new InjectedCrash(window);
            },
          });
          return;
        } catch (error) {
          if (!(error instanceof InjectedCrash)) throw error;
        }
      }
    };

    // Act: the clean run over the same deliveries, and the recomputation, alongside the chaos run
    const cleanRun = (async () => {
      for (const [cycle, deliveries] of plan.cycles.entries()) {
        for (const delivery of deliveries) clean.source.deliver(delivery);
        await runPollCycle({
          clients: clean.stack.clients,
          names: clean.stack.names,
          settings,
          source: clean.source,
          clock: () => plan.cycleClockMs[cycle]!,
        });
      }
      await runShardProcessors(clean.stack.clients.kinesis, clean.stack.clients.doc, clean.stack.names, {
        batchMaxWaitMs: 30,
        idlePollMs: 20,
        untilCaughtUp: true,
      });
      await runCompaction(clean.stack.clients, clean.stack.names, { asOf: AS_OF, codeVersion: CODE_VERSION });
      await exportSnapshot({
        s3: clean.stack.clients.s3,
        bucket: clean.stack.names.martsBucket,
        asOf: AS_OF,
        toDir: path.join(work, 'export-clean'),
      });
    })();
    const arrivalDir = path.join(work, 'arrivals');
    await writeArrivalFolder(arrivalDir, plan.cycles);
    const recomputation = recomputeMarts({ inputDir: arrivalDir, asOf: AS_OF, settings });
    // Awaited after the chaos run; a failure meanwhile must not surface as an unhandled rejection.
    cleanRun.catch(() => {});
    recomputation.catch(() => {});
    /** Compaction crashes whose step did not occur often enough yet: tried again after the next cycle. */
    let carried: { step: CompactionStep; occurrence: number }[] = [];

    for (const [cycle, deliveries] of plan.cycles.entries()) {
      for (const delivery of deliveries) chaos.source.deliver(delivery);
      for (const { window, occurrence } of plan.pollerCrashes.get(cycle) ?? [])
        pollerCrashes.arm(window, occurrence);
      for (const { window, occurrence } of plan.processorCrashes.get(cycle) ?? []) {
        processorCrashes.arm(window, occurrence);
      }
      pollerCrashes.allowExtra(2);
      processorCrashes.allowExtra(1);

      // The poller, restarted after each crash; between restarts the processors may run.
      const poll: PollDependencies = {
        clients: pollerClients,
        names: chaosNames,
        settings,
        source: chaos.source,
        clock: () => plan.cycleClockMs[cycle]!,
        backoff: pollerBackoff,
        onStep: (step, detail) => {
          const kind = pollerCrashes.decide(step);
          if (kind === null) return;
          tally.record(ChaosStage.Poller, kind, step);
          throw new InjectedFault(ChaosStage.Poller, step, detail);
        },
      };
      for (let attempt = 1; ; attempt++) {
        if (attempt > MAX_ATTEMPTS)
          throw new Error(`poll cycle ${cycle} did not converge in ${MAX_ATTEMPTS} attempts`);
        try {
          await runPollCycle(poll);
          break;
        } catch (error) {
          if (!(error instanceof InjectedFault)) throw error;
          if (pauseRandom.chance(0.5)) await processChaos(true);
        }
      }

      if (cycle === plan.reshardAfterCycle) {
        await splitOneShard(chaos.stack.clients.kinesis, chaosNames.ordersStream);
        tally.record(ChaosStage.Stream, FaultKind.Reshard, 'split-shard');
      }
      await processChaos(true);

      // Crashed compaction attempts: the manifest switches only once the whole run is written.
      const attempts = [...carried, ...(plan.compactionCrashes.get(cycle) ?? [])];
      carried = [];
      for (const { step, occurrence } of attempts) {
        const location = { s3: chaos.stack.clients.s3, bucket: chaosNames.martsBucket, asOf: AS_OF };
        const before = (await readManifest(location))?.runId ?? null;
        const runId = `chaos-${cycle}-${step}`;
        let seen = 0;
        let crashedAt: CompactionStep | null = null;
        try {
          await runCompaction(chaos.stack.clients, chaosNames, {
            asOf: AS_OF,
            codeVersion: CODE_VERSION,
            runId,
            onStep: (at) => {
              if (crashedAt !== null || at !== step || ++seen < occurrence) return;
              crashedAt = at;
              tally.record(ChaosStage.Compaction, FaultKind.Crash, at);
              throw new InjectedFault(ChaosStage.Compaction, at, runId);
            },
          });
        } catch (error) {
          if (!(error instanceof InjectedFault)) throw error;
        }
        if (crashedAt === null) carried.push({ step, occurrence });
        const after = (await readManifest(location))?.runId ?? null;
        const visible = step === CompactionStep.ManifestWritten || step === CompactionStep.ProfileWritten;
        if (crashedAt !== null && after !== (visible ? runId : before)) {
          visibilityViolations.push(`${step}: manifest names ${after} (before ${before}, attempt ${runId})`);
        }
      }
    }
    // The last processors' run has no crash left to fire, and catches every shard up.
    await processChaos(false);
    await runCompaction(chaos.stack.clients, chaosNames, { asOf: AS_OF, codeVersion: CODE_VERSION });
    const chaosExport = path.join(work, 'export-chaos');
    await exportSnapshot({
      s3: chaos.stack.clients.s3,
      bucket: chaosNames.martsBucket,
      asOf: AS_OF,
      toDir: chaosExport,
    });
    await cleanRun;

    for (const [operation, count] of throttles.throttled) {
      tally.record(ChaosStage.Processor, FaultKind.Throttle, operation, count);
    }
    console.log(`faults injected (seed ${SEED}):\n${tally.format()}`);
    pollerClients.destroy();
    processorClients.destroy();

    // Assess: every named window of every stage crashed at least once
    const crashKinds = [FaultKind.Crash, FaultKind.RandomCrash];
    expect([...tally.windows(ChaosStage.Poller, crashKinds)].sort()).toEqual(Object.values(PollStep).sort());
    expect([...tally.windows(ChaosStage.Processor, crashKinds)].sort()).toEqual(
      Object.values(CrashWindow).sort(),
    );
    expect(carried, 'compaction crashes that never fired').toEqual([]);
    expect([...tally.windows(ChaosStage.Compaction, crashKinds)].sort()).toEqual(
      Object.values(CompactionStep).sort(),
    );
    expect(tally.windows(ChaosStage.Stream, [FaultKind.Reshard]).size).toBe(1);
    expect(tally.windows(ChaosStage.Processor, [FaultKind.Throttle]).size).toBeGreaterThan(0);
    expect(visibilityViolations).toEqual([]);

    // The snapshot equals the independent recomputation from the delivered files, and the clean run's.
    const { marts: expectedMarts, summary } = await recomputation;
    const chaosMarts = await readExportedMarts(chaosExport);
    const againstDuckDb = compareMarts(expectedMarts, chaosMarts);
    expect(againstDuckDb, formatDifferences(againstDuckDb)).toEqual([]);
    const againstClean = compareMarts(await readExportedMarts(path.join(work, 'export-clean')), chaosMarts);
    expect(againstClean, formatDifferences(againstClean)).toEqual([]);
    expect(summary.rowOutcomes.order_items?.duplicate ?? 0).toBeGreaterThan(0);
    expect(summary.rowOutcomes.order_items?.conflicting_duplicate ?? 0).toBeGreaterThan(0);
    expect(chaosMarts.customer_metrics.rows.length).toBeGreaterThan(50);

    // The aggregates table equals the clean run's, item by item (bookkeeping aside).
    const chaosItems = comparableAggregates(await scanAll(chaos.stack.clients, chaosNames.aggregatesTable));
    const cleanItems = comparableAggregates(
      await scanAll(clean.stack.clients, clean.stack.names.aggregatesTable),
    );
    expect(chaosItems.size).toBeGreaterThan(100);
    expect(chaosItems).toEqual(cleanItems);

    // `tillstream reconcile` recomputes the aggregates and the snapshot from the raw layer: no difference.
    const reconciled = await reconcile({
      clients: chaos.stack.clients,
      names: chaosNames,
      settings,
      asOf: AS_OF,
      workDir: work,
    });
    expect(
      reconciled.differences,
      reconciled.differences
        .slice(0, 20)
        .map(
          (difference) =>
            `${difference.scope} ${difference.item} ${difference.field}: expected ${difference.expected}, actual ${difference.actual}`,
        )
        .join('\n'),
    ).toEqual([]);
    expect(reconciled.unfinishedFiles).toBe(0);
    expect(reconciled.checkedItems).toBeGreaterThan(100);
    expect(reconciled.checkedMartRows).toBeGreaterThan(50);

    // Every delivered version has one ingest report, and every report adds up with nothing pending.
    const reports = await listIngestReports(chaos.stack.clients.s3, chaosNames.rawBucket);
    const delivered = new Map<string, number>();
    for (const delivery of plan.cycles.flat()) {
      delivered.set(`${delivery.id}|${sha256(delivery.bytes)}`, countCsvRecords(delivery.bytes));
    }
    expect(reports.map((report) => `${report.fileId}|${report.contentHash}`).sort()).toEqual(
      [...delivered.keys()].sort(),
    );
    const contentOf = new Map(plan.cycles.flat().map((delivery) => [delivery.id, sha256(delivery.bytes)]));
    for (const report of reports) {
      const settled =
        report.rowsAccepted + report.rowsDuplicate + report.rowsExcluded + report.rowsQuarantined;
      expect(report.rowsPending, report.path).toBe(0);
      expect(settled, report.path).toBe(report.rowsRead);
      if (report.status === FileStatus.DuplicateContent) {
        // A re-upload of bytes already ingested is kept in the raw layer and not read again.
        expect(report.rowsRead, report.path).toBe(0);
        expect(report.duplicateOf?.fileId, report.path).not.toBe(report.fileId);
        expect(contentOf.get(report.duplicateOf?.fileId ?? ''), report.path).toBe(report.contentHash);
      } else {
        expect(report.status, report.path).toBe(FileStatus.Ingested);
        expect(report.rowsRead, report.path).toBe(delivered.get(`${report.fileId}|${report.contentHash}`));
      }
    }
    // Copies of the same bytes: one is read; the others are reported as duplicate content or, when
    // they land in the same poll as the first, read with every row a duplicate.
    const byContent = new Map<string, typeof reports>();
    for (const report of reports)
      byContent.set(report.contentHash ?? '', [...(byContent.get(report.contentHash ?? '') ?? []), report]);
    const copies = [...byContent.values()].filter((group) => group.length > 1);
    expect(copies).toHaveLength(2);
    for (const group of copies) {
      expect(
        group.filter((report) => report.rowsAccepted > 0),
        group[0]!.path,
      ).toHaveLength(1);
    }
  });
});
