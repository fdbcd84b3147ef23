import { describe, expect, it } from 'vitest';
import { proposeFlipPartners, reviewFlipPartners, sideOfName } from './flipPartners.js';

describe('sideOfName', () => {
  it('finds left/right and l/r as prefix, suffix or infix, with separators or camelCase, in any case', () => {
    const cases: [string, ReturnType<typeof sideOfName>][] = [
      ['left_eye', { side: 'left', rest: 'eye' }],
      ['Right Shoulder', { side: 'right', rest: 'shoulder' }],
      ['leftear', { side: 'left', rest: 'ear' }],
      ['paw_L', { side: 'left', rest: 'paw' }],
      ['LeftHand', { side: 'left', rest: 'hand' }],
      ['eyeR', { side: 'right', rest: 'eye' }],
      ['lEye', { side: 'left', rest: 'eye' }],
      ['forelegR1', { side: 'right', rest: 'foreleg_1' }],
      ['Mouth_Back_Left', { side: 'left', rest: 'mouth_back' }],
      ['L_F_Elbow', { side: 'left', rest: 'f_elbow' }],
      ['front-r-paw', { side: 'right', rest: 'front_paw' }],
    ];
    for (const [name, expected] of cases) expect(sideOfName(name), name).toEqual(expected);
  });

  it('finds no side in words that only contain the letters', () => {
    for (const name of [
      'nose',
      'Hand',
      'Finger1',
      'leg',
      'ring_finger2',
      'Elbow',
      'kpt-12',
      'Nearknee',
      'tail_root',
      'bright',
    ])
      expect(sideOfName(name), name).toBeNull();
  });
});

describe('proposeFlipPartners', () => {
  it('pairs names that differ only in their side, whatever spelling each uses', () => {
    expect(
      proposeFlipPartners([
        'nose',
        'leftear',
        'rightear',
        'left_eye',
        'right_eye',
        'paw_L',
        'paw_R',
        'LeftHand',
        'RightHand',
      ]),
    ).toEqual({
      pairs: [
        ['leftear', 'rightear'],
        ['left_eye', 'right_eye'],
        ['paw_L', 'paw_R'],
        ['LeftHand', 'RightHand'],
      ],
      unpaired: [],
    });
    // Mixed spellings of one point still pair.
    expect(proposeFlipPartners(['Ear_L', 'right ear']).pairs).toEqual([['Ear_L', 'right ear']]);
  });

  it('pairs nothing where three "left" names match one right one, and says why', () => {
    const result = proposeFlipPartners(['leftear', 'left_ear', 'LeftEar', 'right_ear', 'left_eye', 'right_eye']);
    expect(result.pairs).toEqual([['left_eye', 'right_eye']]);
    expect(result.unpaired.map((u) => u.name)).toEqual(['leftear', 'left_ear', 'LeftEar', 'right_ear']);
    for (const { reason } of result.unpaired) {
      expect(reason).toBe(
        'ambiguous: "leftear", "left_ear", "LeftEar" and "right_ear" all name the same point on either side',
      );
    }
  });

  it('reports a sided name without a counterpart, and leaves names that already have a partner alone', () => {
    expect(proposeFlipPartners(['left_wing', 'nose']).unpaired).toEqual([
      { name: 'left_wing', reason: 'no keypoint is its right counterpart' },
    ]);
    expect(proposeFlipPartners(['left_eye', 'right_eye', 'eye_l'], new Set(['left_eye', 'right_eye']))).toEqual({
      pairs: [],
      unpaired: [{ name: 'eye_l', reason: 'no keypoint is its right counterpart' }],
    });
  });
});

describe('reviewFlipPartners', () => {
  const kp = (id: number, name: string, flipPartnerId: number | null = null) => ({ id, name, flipPartnerId });

  it('proposes pairs of partner-less keypoints, leaves rejected pairs out, and lists every sided keypoint without a partner', () => {
    const keypoints = [
      kp(1, 'left_eye', 2),
      kp(2, 'right_eye', 1),
      kp(3, 'ear_L'),
      kp(4, 'ear_R'),
      kp(5, 'paw_L'),
      kp(6, 'paw_R'),
    ];
    expect(reviewFlipPartners(keypoints, [[6, 5]])).toEqual({
      proposals: [{ left: 3, right: 4 }],
      unpaired: [
        { keypointId: 3, reason: 'its partner by name, "ear_R", is proposed but not set' },
        { keypointId: 4, reason: 'its partner by name, "ear_L", is proposed but not set' },
        { keypointId: 5, reason: 'its partner by name, "paw_R", was rejected' },
        { keypointId: 6, reason: 'its partner by name, "paw_L", was rejected' },
      ],
    });
  });
});
