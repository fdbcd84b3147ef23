import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KEYPOINT_PALETTE } from './schemaService.js';
import { databaseSnapshot, labelingProject, workspace } from './testing/fixtures.js';
import type { Workspace } from './testing/fixtures.js';

let ws: Workspace;
let p: Awaited<ReturnType<typeof labelingProject>>;
beforeEach(async () => {
  ws = workspace();
  p = await labelingProject(ws, 2, ['nose', 'left_eye', 'right_eye']);
});
afterEach(() => {
  p.services.close();
  ws.cleanup();
});

const ids = () => p.keypoints.map((k) => k.id) as [number, number, number];

describe('keypoint schema', () => {
  it('adds keypoints in order with distinct palette colours, renames, recolours and reorders', async () => {
    expect(p.keypoints.map((k) => [k.name, k.order, k.color])).toEqual([
      ['nose', 0, KEYPOINT_PALETTE[0]],
      ['left_eye', 1, KEYPOINT_PALETTE[1]],
      ['right_eye', 2, KEYPOINT_PALETTE[2]],
    ]);
    const [nose, left, right] = ids();
    await p.call('keypoints.update', { id: nose, name: 'snout', color: '#123456' });
    const schema = await p.call('keypoints.reorder', { ids: [right, nose, left] });
    expect(schema.keypoints.map((k) => [k.name, k.order, k.color])).toEqual([
      ['right_eye', 0, KEYPOINT_PALETTE[2]],
      ['snout', 1, '#123456'],
      ['left_eye', 2, KEYPOINT_PALETTE[1]],
    ]);
    const added = await p.call('keypoints.add', { name: 'tail' });
    // The first palette colour no keypoint uses any more (snout was recoloured).
    expect(added.keypoints.at(-1)).toMatchObject({ name: 'tail', order: 3, color: KEYPOINT_PALETTE[0] });
  });

  it('proposes partners from names; accepting sets them, rejecting keeps them apart until set by hand', async () => {
    const [nose, left, right] = ids();
    let schema = await p.call('schema.get', {});
    expect(schema.flipProposals).toEqual([{ left, right }]);
    expect(schema.unpairedSides.map((u) => u.keypointId)).toEqual([left, right]);
    schema = await p.call('keypoints.update', { id: left, flipPartnerId: right });
    expect(schema).toMatchObject({ flipProposals: [], unpairedSides: [], rejectedFlipPairs: [] });
    schema = await p.call('keypoints.rejectFlipPair', { a: right, b: left });
    expect(schema.keypoints.map((k) => k.flipPartnerId)).toEqual([null, null, null]);
    expect(schema.flipProposals).toEqual([]);
    expect(schema.rejectedFlipPairs).toEqual([[left, right]]);
    expect(schema.unpairedSides).toEqual([
      { keypointId: left, reason: 'its partner by name, "right_eye", was rejected' },
      { keypointId: right, reason: 'its partner by name, "left_eye", was rejected' },
    ]);
    const before = databaseSnapshot(ws.projectDir);
    await expect(p.call('keypoints.rejectFlipPair', { a: nose, b: nose })).rejects.toMatchObject({
      code: 'invalid',
      message: 'A flip pair needs two different keypoints.',
    });
    await expect(p.call('keypoints.rejectFlipPair', { a: nose, b: 999 })).rejects.toMatchObject({ code: 'not_found' });
    expect(databaseSnapshot(ws.projectDir)).toEqual(before);
    // Deleting a keypoint drops its rejections with it.
    schema = await p.call('keypoints.delete', { id: right });
    expect(schema.rejectedFlipPairs).toEqual([]);
  });

  it('refuses duplicate names (ignoring case), unknown ids and partial reorders, changing nothing', async () => {
    const [nose, left] = ids();
    const before = databaseSnapshot(ws.projectDir);
    await expect(p.call('keypoints.add', { name: 'NOSE' })).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringMatching(/"nose" already exists/),
    });
    await expect(p.call('keypoints.update', { id: left, name: 'Nose' })).rejects.toMatchObject({ code: 'conflict' });
    await expect(p.call('keypoints.update', { id: 999, name: 'x' })).rejects.toMatchObject({
      code: 'not_found',
      message: expect.stringMatching(/999/),
    });
    await expect(p.call('keypoints.reorder', { ids: [nose, left] })).rejects.toMatchObject({
      code: 'invalid',
      message: expect.stringMatching(/every keypoint/),
    });
    await expect(p.call('keypoints.reorder', { ids: [nose, nose, left] })).rejects.toMatchObject({ code: 'invalid' });
    await expect(p.call('keypoints.reorder', { ids: [nose, left, 999] })).rejects.toMatchObject({ code: 'not_found' });
    await expect(p.callRaw('keypoints.add', { name: 'x'.repeat(100_000) })).rejects.toMatchObject({
      code: 'invalid',
      message: expect.stringMatching(/name/),
    });
    await expect(p.callRaw('keypoints.add', { name: '   ' })).rejects.toMatchObject({ code: 'invalid' });
    await expect(p.callRaw('keypoints.add', { name: 'ok', color: 'red' })).rejects.toMatchObject({
      code: 'invalid',
      message: expect.stringMatching(/#rrggbb/),
    });
    await expect(p.callRaw('keypoints.update', { id: '1' })).rejects.toMatchObject({
      code: 'invalid',
      message: expect.stringMatching(/id/),
    });
    expect(databaseSnapshot(ws.projectDir)).toEqual(before);
  });

  it('keeps flip partners symmetric; clearing one side clears the other', async () => {
    const [nose, left, right] = ids();
    let schema = await p.call('keypoints.update', { id: left, flipPartnerId: right });
    const partner = (id: number) => schema.keypoints.find((k) => k.id === id)!.flipPartnerId;
    expect([partner(nose), partner(left), partner(right)]).toEqual([null, right, left]);
    schema = await p.call('keypoints.update', { id: right, flipPartnerId: null });
    expect([partner(left), partner(right)]).toEqual([null, null]);
    await expect(p.call('keypoints.update', { id: left, flipPartnerId: left })).rejects.toMatchObject({
      code: 'invalid',
    });
    await expect(p.call('keypoints.update', { id: left, flipPartnerId: 77 })).rejects.toMatchObject({
      code: 'not_found',
    });
  });

  it('adds skeleton edges between existing, distinct keypoints once', async () => {
    const [nose, left, right] = ids();
    const schema = await p.call('skeleton.addEdge', { a: nose, b: left });
    expect(schema.edges).toEqual([{ id: expect.any(Number), a: Math.min(nose, left), b: Math.max(nose, left) }]);
    await expect(p.call('skeleton.addEdge', { a: left, b: nose })).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringMatching(/already has an edge/),
    });
    await expect(p.call('skeleton.addEdge', { a: right, b: right })).rejects.toMatchObject({ code: 'invalid' });
    await expect(p.call('skeleton.addEdge', { a: right, b: 404 })).rejects.toMatchObject({ code: 'not_found' });
    await expect(p.call('skeleton.deleteEdge', { id: 404 })).rejects.toMatchObject({ code: 'not_found' });
    expect((await p.call('skeleton.deleteEdge', { id: schema.edges[0]!.id })).edges).toEqual([]);
  });

  it('sets and clears the normalisation pair', async () => {
    const [, left, right] = ids();
    expect((await p.call('schema.setNormPair', { pair: [left, right] })).normPair).toEqual([left, right]);
    await expect(p.call('schema.setNormPair', { pair: [left, left] })).rejects.toMatchObject({ code: 'invalid' });
    await expect(p.call('schema.setNormPair', { pair: [left, 55] })).rejects.toMatchObject({ code: 'not_found' });
    expect((await p.call('schema.setNormPair', { pair: null })).normPair).toBeNull();
  });

  it('deletes a labeled keypoint only when confirmed, with its labels, edges, partner and norm pair', async () => {
    const [nose, left, right] = ids();
    const image = p.images[0]!.id;
    await p.call('annotations.set', { imageId: image, keypointId: left, x: 5, y: 5 });
    await p.call('annotations.set', { imageId: p.images[1]!.id, keypointId: left, x: 6, y: 6 });
    await p.call('keypoints.update', { id: left, flipPartnerId: right });
    await p.call('skeleton.addEdge', { a: left, b: nose });
    await p.call('schema.setNormPair', { pair: [left, right] });
    const before = databaseSnapshot(ws.projectDir);
    await expect(p.call('keypoints.delete', { id: left })).rejects.toMatchObject({
      code: 'confirm_required',
      message: '"left_eye" has 2 labels on 2 images: deleting it deletes them too. Confirm to go ahead.',
    });
    expect(databaseSnapshot(ws.projectDir)).toEqual(before);
    const schema = await p.call('keypoints.delete', { id: left, confirm: true });
    expect(schema.keypoints.map((k) => [k.name, k.order, k.flipPartnerId])).toEqual([
      ['nose', 0, null],
      ['right_eye', 1, null],
    ]);
    expect(schema.edges).toEqual([]);
    expect(schema.normPair).toBeNull();
    expect(await p.call('annotations.list', { imageId: image })).toEqual([]);
    // An unlabeled keypoint goes without confirmation.
    expect((await p.call('keypoints.delete', { id: nose })).keypoints.map((k) => k.name)).toEqual(['right_eye']);
  });
});
