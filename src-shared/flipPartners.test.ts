import { describe, expect, it } from 'vitest';
import { proposeFlipPartners, sideOfName } from './flipPartners.js';

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
