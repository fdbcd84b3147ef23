// Flip partners proposed from the keypoint names of the real labeled sets in ../shared/datasets
// (every mmpose domain and the DeepLabCut example); skips visibly where they are absent.
import { describe, expect, it } from 'vitest';
import { proposeFlipPartners, sideOfName } from '../../../src-shared/flipPartners.js';
import { haveDatasets, labelFolders, readRawLabels, skipReason } from './testDatasets.js';

/** Left/right pairs each set's names should give; sets not listed have no sided names. */
const EXPECTED_PAIRS: Record<string, number> = {
  'mmpose_testdata/aic': 6,
  'mmpose_testdata/ak': 8,
  'mmpose_testdata/animalpose': 8,
  'mmpose_testdata/ap10k': 7,
  'mmpose_testdata/atrw': 6,
  'mmpose_testdata/coco': 8,
  'mmpose_testdata/crowdpose': 6,
  'mmpose_testdata/fld': 4,
  'mmpose_testdata/fly': 14,
  'mmpose_testdata/locust': 15,
  'mmpose_testdata/macaque': 8,
  'mmpose_testdata/mpii': 6,
  'mmpose_testdata/zebra': 2,
};

describe.skipIf(!haveDatasets)(
  `flip partners from real keypoint names${haveDatasets ? '' : ` (${skipReason})`}`,
  () => {
    it.each(labelFolders())('%s: every sided name is paired with its mirror', (folder) => {
      const names = readRawLabels(folder).names.map((n) => n.trim());
      const { pairs, unpaired } = proposeFlipPartners(names);
      expect(unpaired).toEqual([]);
      expect(pairs).toHaveLength(EXPECTED_PAIRS[folder] ?? 0);
      expect(new Set(pairs.flat()).size).toBe(2 * pairs.length);
      for (const [left, right] of pairs) {
        expect(sideOfName(left)?.side, left).toBe('left');
        expect(sideOfName(right)).toEqual({ side: 'right', rest: sideOfName(left)!.rest });
      }
    });

    it('pairs the names a reader would on COCO, the fly and the animal-pose sets', () => {
      expect(proposeFlipPartners(readRawLabels('mmpose_testdata/coco').names).pairs.slice(0, 3)).toEqual([
        ['left_eye', 'right_eye'],
        ['left_ear', 'right_ear'],
        ['left_shoulder', 'right_shoulder'],
      ]);
      expect(proposeFlipPartners(readRawLabels('mmpose_testdata/fly').names).pairs).toContainEqual([
        'forelegL3',
        'forelegR3',
      ]);
      expect(proposeFlipPartners(readRawLabels('mmpose_testdata/animalpose').names).pairs).toContainEqual([
        'L_B_Paw',
        'R_B_Paw',
      ]);
      expect(proposeFlipPartners(readRawLabels('dlc_reaching_mouse').names)).toEqual({ pairs: [], unpaired: [] });
    });
  },
);
