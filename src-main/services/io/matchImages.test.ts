import { describe, expect, it } from 'vitest';
import { matchImageRefs } from './matchImages.js';

describe('matchImageRefs', () => {
  const project = [
    'labeled-data/reachingvideo1/img005.png',
    'labeled-data/reachingvideo2/img005.png',
    'other/img020.png',
    'faces/Lenna.PNG',
    'faces/photo.jpg',
    'archive/photo.jpg',
    'Case/A.png',
    'Case/a.png',
    'café/ñ.png',
  ];

  it('matches the same relative path, whatever the separators', () => {
    const { matches, unmatched } = matchImageRefs(
      ['labeled-data\\reachingvideo1\\img005.png', './other//img020.png'],
      project,
    );
    expect([...matches]).toEqual([
      ['labeled-data\\reachingvideo1\\img005.png', 'labeled-data/reachingvideo1/img005.png'],
      ['./other//img020.png', 'other/img020.png'],
    ]);
    expect(unmatched).toEqual([]);
  });

  it('falls back to the longest shared tail of the path, without case, in NFC', () => {
    const nfd = 'cafe\u0301/n\u0303.png';
    const { matches } = matchImageRefs(
      ['D:/dlc/project/Labeled-Data/ReachingVideo2/IMG005.png', 'img020.png', 'lenna.png', nfd],
      project,
    );
    expect(matches.get('D:/dlc/project/Labeled-Data/ReachingVideo2/IMG005.png')).toBe(
      'labeled-data/reachingvideo2/img005.png',
    );
    expect(matches.get('img020.png')).toBe('other/img020.png');
    expect(matches.get('lenna.png')).toBe('faces/Lenna.PNG');
    expect(matches.get(nfd)).toBe('café/ñ.png');
  });

  it('leaves ambiguous and unknown references unmatched, saying why', () => {
    const { matches, unmatched } = matchImageRefs(
      ['img005.png', 'photo.jpg', 'Case/A.png', 'case/A.PNG', 'missing.png'],
      project,
    );
    expect([...matches]).toEqual([['Case/A.png', 'Case/A.png']]);
    expect(unmatched).toEqual([
      {
        ref: 'img005.png',
        reason:
          'ambiguous: 2 project images match (labeled-data/reachingvideo1/img005.png, labeled-data/reachingvideo2/img005.png)',
      },
      { ref: 'photo.jpg', reason: 'ambiguous: 2 project images match (faces/photo.jpg, archive/photo.jpg)' },
      { ref: 'case/A.PNG', reason: 'ambiguous: 2 project images match (Case/A.png, Case/a.png)' },
      { ref: 'missing.png', reason: 'no project image has this file name' },
    ]);
  });

  it('refuses two different references to one image, and counts repeated ones once', () => {
    const { matches, unmatched } = matchImageRefs(
      ['x/Lenna.PNG', 'y/lenna.png', 'other/img020.png', 'other/img020.png'],
      project,
    );
    expect([...matches]).toEqual([['other/img020.png', 'other/img020.png']]);
    expect(unmatched).toEqual([
      { ref: 'x/Lenna.PNG', reason: '"faces/Lenna.PNG" is also named by y/lenna.png' },
      { ref: 'y/lenna.png', reason: '"faces/Lenna.PNG" is also named by x/Lenna.PNG' },
    ]);
  });

  it('matches 5k references among 20k images where every file name repeats 50 times', () => {
    const images = Array.from({ length: 20_000 }, (_, i) => `video${i % 50}/frame${Math.floor(i / 50)}.png`);
    const refs = Array.from({ length: 5_000 }, (_, i) => `labeled-data/video${i % 50}/frame${Math.floor(i / 50)}.png`);
    const { matches, unmatched } = matchImageRefs(refs, images);
    expect(unmatched).toEqual([]);
    expect(matches.get('labeled-data/video7/frame3.png')).toBe('video7/frame3.png');
  });
});
