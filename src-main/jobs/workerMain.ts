// The production job worker: the process runJob forks for training and prediction. Each kind is
// imported only when asked for; the compute engine starts once and its line goes in the run record.
import { runWorker } from './worker.js';

runWorker(
  {
    train: async () => (await import('./kinds/train.js')).trainJob,
    predict: async () => (await import('./kinds/predict.js')).predictJob,
    pretrain: async () => (await import('./kinds/pretrain.js')).pretrainJob,
    features: async () => (await import('./kinds/features.js')).featuresJob,
    match: async () => (await import('./kinds/match.js')).matchJob,
    matchEvaluate: async () => (await import('./kinds/match.js')).matchEvaluateJob,
    propagate: async () => (await import('./kinds/match.js')).propagateJob,
    // What the engine is (the app's status bar); the engine itself starts before any job.
    engine: async () => async () => (await import('../ml/engine.js')).initEngine(),
  },
  async () => {
    const { initEngine, formatEngineInfo } = await import('../ml/engine.js');
    return formatEngineInfo(await initEngine());
  },
  async () => (await import('./kinds/predict.js')).warmDefaultPrediction(),
);
