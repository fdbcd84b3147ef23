// prepareTraining's flip decision: the heatmap head's augmentation flips images only while every
// keypoint whose name says it has a side has a partner; a run trained without flips says why.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { labelingProject, workspace, type Workspace } from '../services/testing/fixtures.js';
import { ProjectStore } from '../store/projectStore.js';
import { prepareTraining } from './trainRun.js';

let ws: Workspace;
beforeEach(() => {
  ws = workspace('ls-train-flips-');
});
afterEach(() => ws.cleanup());

/** A project with one labeled image over `names`; returns its store (the caller closes it). */
async function labeledProject(names: string[]): Promise<ProjectStore> {
  const p = await labelingProject(ws, 1, names);
  // Distinct points: the augmentation ranges are fitted to the skeleton they make.
  for (const [i, k] of p.keypoints.entries())
    await p.call('annotations.set', { imageId: p.images[0]!.id, keypointId: k.id, x: 5 + 9 * i, y: 5 + 4 * i });
  p.services.close();
  return ProjectStore.open(ws.projectDir);
}

const heatmap = { head: 'heatmap', backbone: 'smallnet', features: 'random', seed: 1 } as const;

describe('prepareTraining: horizontal flips', () => {
  it('turns flips off and says why while a sided keypoint has no partner', async () => {
    const store = await labeledProject(['nose', 'left_ear', 'right_ear', 'tail_L']);
    try {
      const prepared = prepareTraining(store, heatmap);
      expect(prepared.augmentation?.flip).toBe(false);
      expect(prepared.config.horizontalFlips).toBe(false);
      expect(prepared.flipPairs).toEqual([]);
      expect(prepared.warnings[0]).toBe(
        'horizontal flips are off: "left_ear" (its partner by name, "right_ear", is proposed but not set); ' +
          '"right_ear" (its partner by name, "left_ear", is proposed but not set); ' +
          '"tail_L" (no keypoint is its right counterpart) say they have a side but no flip partner, and a flip ' +
          'would teach them to be their mirror image; set partners in the schema editor to turn flips on',
      );
    } finally {
      store.close();
    }
  });

  it('leaves flips to the geometry once every sided keypoint has its partner, and never flips for the paper head', async () => {
    const store = await labeledProject(['nose', 'left_ear', 'right_ear']);
    try {
      const [, left, right] = store.keypoints.list();
      store.keypoints.setFlipPartner(left!.id, right!.id);
      const prepared = prepareTraining(store, heatmap);
      // The names no longer stop flips; whether the labels' geometry allows them is augmentRanges' call.
      expect(prepared.config.horizontalFlips).toBe(prepared.augmentation?.flip);
      expect(prepared.flipPairs).toEqual([[1, 2]]);
      expect(prepared.warnings).toEqual([]);
      store.keypoints.setFlipPartner(left!.id, null);
      const paper = prepareTraining(store, { ...heatmap, head: 'paper' });
      expect(paper.config.horizontalFlips).toBe(false);
      expect(paper.warnings).toEqual([]);
    } finally {
      store.close();
    }
  });

  it('trains a run without flips and records why in its problems', async () => {
    const p = await labelingProject(ws, 1, ['nose', 'paw_L']);
    try {
      for (const [i, k] of p.keypoints.entries())
        await p.call('annotations.set', { imageId: p.images[0]!.id, keypointId: k.id, x: 20 + 15 * i, y: 20 });
      const run = await p.call('runs.train', { ...heatmap, size: 64, steps: 2 });
      expect(run.status).toBe('done');
      expect(run.config.horizontalFlips).toBe(false);
      expect(run.metrics?.problems).toEqual([
        expect.stringMatching(
          /^horizontal flips are off: "paw_L" \(no keypoint is its right counterpart\) says it has a side/,
        ),
      ]);
    } finally {
      p.services.close();
    }
  });

  it('flips keypoints whose names have no side', async () => {
    const store = await labeledProject(['nose', 'tail', 'Hand', 'Finger1']);
    try {
      // No name stops flips (whether the geometry allows them is augmentRanges' call).
      const prepared = prepareTraining(store, heatmap);
      expect(prepared.warnings).toEqual([]);
      expect(prepared.config.horizontalFlips).toBe(prepared.augmentation?.flip);
    } finally {
      store.close();
    }
  });

  it('falls back to the widest ranges, and says so, when no image has two labeled points', async () => {
    const store = await labeledProject(['nose']);
    try {
      const prepared = prepareTraining(store, heatmap);
      expect(prepared.augmentation).toMatchObject({ rotationDegrees: 180, translate: 'anywhere' });
      expect(prepared.warnings).toEqual([expect.stringMatching(/^augmentation ranges not chosen from the labels/)]);
    } finally {
      store.close();
    }
  });
});
