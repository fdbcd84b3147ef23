// The backbone inside a saved weights folder, whichever run wrote it: a pretraining checkpoint
// (MoCo's query encoder under `query.backbone.`, dense contrastive's under `backbone.`) or a
// trained landmark model (`backbone.`). Few-shot training starts from it; matching describes
// images with it.
import type { Variable } from '@tensorflow/tfjs';
import { loadWeightsInto, readWeights, WeightsError } from '../weights.js';
import { createBackbone, type Backbone, type BackboneConfig } from './index.js';

/** Prefixes under which a checkpoint may hold a backbone, most specific first. */
const BACKBONE_PREFIXES = ['query.backbone.', 'backbone.', 'query.', ''];

/** The architecture a weights folder's metadata records (pretraining: config.backbone; models: backbone). */
export function savedBackboneConfig(metadata: Record<string, unknown>): BackboneConfig | null {
  const fromConfig = (metadata.config as { backbone?: BackboneConfig } | undefined)?.backbone;
  const fromModel = metadata.backbone as BackboneConfig | undefined;
  const config = fromConfig ?? fromModel;
  return config && typeof config === 'object' && typeof config.arch === 'string' ? config : null;
}

/**
 * Builds the backbone saved in `dir` (`fallback` when the metadata names none) and loads its
 * weights; `label` names the run in errors. A WeightsError when the folder holds no such backbone.
 */
export function loadCheckpointBackbone(
  dir: string,
  fallback: BackboneConfig,
  seed: number,
  label: string,
  expectArch?: BackboneConfig['arch'],
): Backbone {
  const { tensors, metadata } = readWeights(dir);
  const names = new Set(tensors.keys());
  for (const t of tensors.values()) t.dispose();
  const saved = savedBackboneConfig(metadata);
  if (saved && expectArch && saved.arch !== expectArch)
    throw new WeightsError(`${label} trained a ${saved.arch} backbone: train with --backbone ${saved.arch}`);
  // Every weight comes from the checkpoint (checked below): no random draws to overwrite.
  const backbone = createBackbone(saved ?? fallback, { seed, randomInit: false });
  try {
    const prefix = BACKBONE_PREFIXES.find((p) => [...backbone.weights.keys()].every((n) => names.has(p + n)));
    if (prefix === undefined)
      throw new WeightsError(`the checkpoint of ${label} (${dir}) holds no ${backbone.config.arch} backbone weights`);
    loadWeightsInto(dir, new Map([...backbone.weights].map(([n, v]) => [prefix + n, v] as [string, Variable])), {
      allowExtra: true,
    });
    return backbone;
  } catch (err) {
    backbone.dispose();
    throw err;
  }
}
