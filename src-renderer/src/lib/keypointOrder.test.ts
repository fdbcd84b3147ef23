import { describe, expect, it } from 'vitest';
import type { Keypoint } from '../../../src-shared/domain.js';
import { firstUnlabeled, nextUnlabeled, sortedKeypoints, stepKeypoint } from './keypointOrder.js';

const kp = (id: number, order: number): Keypoint => ({
  id,
  name: `k${id}`,
  color: '#ffffff',
  order,
  flipPartnerId: null,
});
// Ids deliberately out of labeling order.
const ordered = sortedKeypoints([kp(7, 2), kp(3, 0), kp(9, 1), kp(4, 3)]);

describe('keypoint order', () => {
  it('sorts by labeling order', () => {
    expect(ordered.map((k) => k.id)).toEqual([3, 9, 7, 4]);
  });

  it('starts at the first keypoint without a point', () => {
    expect(firstUnlabeled(ordered, new Set([3, 9]))).toBe(7);
    expect(firstUnlabeled(ordered, new Set([3, 9, 7, 4]))).toBe(3);
    expect(firstUnlabeled([], new Set())).toBeNull();
  });

  it('advances to the next unlabeled keypoint, wrapping, and stays when all are labeled', () => {
    expect(nextUnlabeled(ordered, new Set([3, 9]), 9)).toBe(7);
    expect(nextUnlabeled(ordered, new Set([9, 7, 4]), 4)).toBe(3);
    expect(nextUnlabeled(ordered, new Set([3, 9, 7, 4]), 7)).toBe(7);
  });

  it('steps through keypoints in order, wrapping both ways', () => {
    expect(stepKeypoint(ordered, 4, 1)).toBe(3);
    expect(stepKeypoint(ordered, 3, -1)).toBe(4);
    expect(stepKeypoint(ordered, 9, 1)).toBe(7);
    expect(stepKeypoint([], null, 1)).toBeNull();
  });
});
