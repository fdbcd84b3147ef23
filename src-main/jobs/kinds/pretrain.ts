// The 'pretrain' job (in the worker): MoCo v2 or dense contrastive learning on a folder of
// images within an epoch and a wall-clock budget, checkpointing every few minutes, at the stop
// and on cancel, so a run killed at any moment resumes from its last checkpoint with the same
// step count and loss curve. Both methods sit behind one PretrainSession.
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { mixSeed } from '../../../src-shared/random.js';
import { BatchLoader, type LoaderItem } from '../../ml/image/batchLoader.js';
import { VIEW_SOURCE_SCALE } from '../../ml/pretrain/mocoViews.js';
import { horizonAtDeadline } from '../../ml/pretrain/learningRate.js';
import { openPretrainSession, type PretrainSession, type StepOutcome } from '../../ml/pretrain/pretrainSession.js';
import type { PretrainPayload, PretrainResult } from '../pretrainTypes.js';
import type { JobContext } from '../protocol.js';

/** How a checkpoint is written: calls `write(dir)`; tests inject a failing one (a full disk). */
export type SaveState = (dir: string, write: (dir: string) => Promise<void>) => Promise<void>;

export class PretrainCancelledError extends Error {
  constructor(step: number) {
    super(`cancelled at step ${step} (checkpoint written)`);
    this.name = 'PretrainCancelledError';
  }
}

export async function pretrainJob(payload: unknown, ctx: JobContext): Promise<PretrainResult> {
  return runPretrainJob(payload as PretrainPayload, ctx);
}

/** Full batches per epoch: the last partial batch is dropped (MoCo enqueues whole batches). */
function stepsPerEpoch(imageCount: number, batchSize: number): number {
  return Math.max(1, Math.floor(imageCount / batchSize));
}

function openSession(p: PretrainPayload): PretrainSession {
  if (p.resume) return openPretrainSession(p, { resumeFrom: p.checkpointDir });
  const totalSteps = p.epochs * stepsPerEpoch(p.images.length, p.config.batchSize);
  return openPretrainSession(p, { imageCount: p.images.length, seed: p.seed, totalSteps });
}

export async function runPretrainJob(
  p: PretrainPayload,
  ctx: JobContext,
  save: SaveState = (dir, write) => write(dir),
): Promise<PretrainResult> {
  writeFileSync(p.workerPidFile, String(process.pid));
  ctx.progress({ step: 0, totalSteps: 1, message: p.resume ? 'loading the checkpoint' : 'building the encoders' });
  const session = openSession(p);
  try {
    if (session.state.imageCount !== p.images.length) {
      throw new Error(
        `the run was started on ${session.state.imageCount} images but ${p.images.length} are usable now: resume needs the same images (start a new run for the changed folder)`,
      );
    }
    if (!p.resume) writeFileSync(p.curveLog, '');
    return await train(p, session, ctx, save);
  } finally {
    session.dispose();
  }
}

async function train(
  p: PretrainPayload,
  session: PretrainSession,
  ctx: JobContext,
  save: SaveState,
): Promise<PretrainResult> {
  const { state, batchSize } = session;
  const perEpoch = stepsPerEpoch(state.imageCount, batchSize);
  /** The epochs budget in steps: the schedule's horizon unless a time budget ends the run sooner. */
  const epochSteps = p.epochs * perEpoch;
  // A resumed session starts from the whole epochs budget (the stopped session may have fitted
  // the horizon to its own minutes); with minutes of its own it is fitted again below, a warm
  // restart of the cosine.
  if (p.resume) state.totalSteps = epochSteps;
  const startStep = state.step;
  const started = Date.now();
  const deadline = p.minutes === null ? Infinity : started + p.minutes * 60_000;
  // With a minutes budget the cosine schedule follows the share of the budget spent (as the
  // few-shot trainer's budgetSeconds), never beyond the epochs budget.
  const fitScheduleToDeadline = (): void => {
    if (p.minutes === null) return;
    const spent = (Date.now() - started) / (deadline - started);
    state.totalSteps = horizonAtDeadline(startStep, state.step, spent, epochSteps);
  };
  const problems: string[] = [];
  const broken = new Set<string>();
  /** Broken because the file is gone (its folder moved or deleted since the run started). */
  let missing = 0;
  let lastSaved = startStep > 0 ? startStep : null;
  let lastCheckpointAt = started;
  let stepsDone = 0;
  let last: StepOutcome | null = null;

  const checkpoint = async (): Promise<void> => {
    try {
      await save(p.checkpointDir, session.save);
    } catch (err) {
      const kept =
        lastSaved === null ? 'no earlier checkpoint exists' : `the previous checkpoint (step ${lastSaved}) is intact`;
      throw new Error(
        `could not write the checkpoint at step ${state.step} to ${p.checkpointDir} (${(err as Error).message}); ${kept}. Free disk space or fix the folder's permissions, then resume the run.`,
      );
    }
    lastSaved = state.step;
    lastCheckpointAt = Date.now();
    ctx.checkpoint(p.checkpointRel, state.step);
  };

  const items: LoaderItem[] = p.images.map((img) => ({ path: img.path, crop: img.crop }));
  const loaderOptions = {
    size: VIEW_SOURCE_SCALE * session.inputSize,
    // Random resized crops vary the aspect anyway; stretching keeps every pixel of the image.
    mode: 'stretch' as const,
    batchSize,
    dropLast: true,
    cacheDir: p.cacheDir,
    onBrokenImage: (file: string, error: Error) => {
      if (broken.has(file)) return;
      broken.add(file);
      if (!existsSync(file)) missing++;
      problems.push(`${file}: left out (${error.message})`);
    },
  };
  // The epoch's batch order depends only on (seed, epoch): a resume at batch b of epoch e sees
  // the same remaining batches the interrupted run would have.
  const order = new BatchLoader(items, { ...loaderOptions, shuffle: true, seed: mixSeed(state.seed, 4) });
  // Batches consumed (stepped, or skipped as short of broken images); equals the step count without broken images.
  let position = startStep;
  let stoppedBy: PretrainResult['stoppedBy'] = 'epochs';

  const stopNow = async (): Promise<boolean> => {
    if (ctx.signal.aborted) {
      await checkpoint();
      throw new PretrainCancelledError(state.step);
    }
    if (state.step >= state.totalSteps) return true;
    if (Date.now() >= deadline) {
      stoppedBy = 'minutes';
      return true;
    }
    if (state.step !== (lastSaved ?? startStep) && Date.now() - lastCheckpointAt >= p.checkpointMinutes * 60_000)
      await checkpoint();
    return false;
  };

  run: while (!(await stopNow())) {
    const epoch = Math.floor(position / perEpoch);
    const remaining = order
      .batchOrder(epoch)
      .slice(position % perEpoch)
      .flat();
    const stepBefore = state.step;
    const loader = new BatchLoader(
      remaining.map((i) => items[i]!),
      { ...loaderOptions, shuffle: false },
    );
    for await (const batch of loader.epoch(0)) {
      position++;
      let result;
      try {
        if (batch.images.shape[0] < batchSize) continue; // a broken image made it short
        result = await session.step(batch.images);
      } finally {
        batch.images.dispose();
      }
      stepsDone++;
      fitScheduleToDeadline();
      last = result;
      appendFileSync(p.curveLog, `${JSON.stringify({ step: result.step, values: result.values })}\n`);
      ctx.metric(result.step, result.values);
      const seconds = (Date.now() - started) / 1000;
      const imagesPerSec = (stepsDone * batchSize) / Math.max(seconds, 1e-3);
      const stepsLeft = state.totalSteps - state.step;
      const etaSec = Math.min((stepsLeft * batchSize) / imagesPerSec, (deadline - Date.now()) / 1000);
      ctx.progress({
        step: state.step,
        totalSteps: state.totalSteps,
        epoch: Math.floor(state.step / perEpoch),
        loss: result.loss,
        imagesPerSec,
        etaSec: Math.max(0, etaSec),
        message: `epoch ${Math.floor(result.step / perEpoch) + 1}/${p.epochs}, chance ${result.chanceLoss.toFixed(2)}`,
      });
      if (await stopNow()) break run;
    }
    if (state.step === stepBefore) {
      const gone =
        missing > 0
          ? `; ${missing} of them are missing: was the folder moved or deleted? Put it back and resume the run`
          : '';
      throw new Error(
        `no full batch of ${batchSize} readable images in an epoch (${broken.size} images could not be decoded${gone}): fix or remove them, or use a smaller --batch`,
      );
    }
  }
  await checkpoint();
  const seconds = (Date.now() - started) / 1000;
  return {
    steps: state.step,
    startStep,
    epochs: state.step / perEpoch,
    stoppedBy,
    seconds,
    imagesPerSecond: (stepsDone * batchSize) / Math.max(seconds, 1e-3),
    finalLoss: last?.loss ?? null,
    chanceLoss: session.chanceLoss(last),
    problems,
  };
}
