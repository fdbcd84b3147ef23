// The labeling screen's keyboard map: one table drives both the key handler and the help overlay.
export type LabelAction =
  | 'nextImage'
  | 'previousImage'
  | 'nextKeypoint'
  | 'previousKeypoint'
  | 'occluded'
  | 'absent'
  | 'deletePoint'
  | 'undo'
  | 'redo'
  | 'copyPrevious'
  | 'acceptPrelabels'
  | 'crosshairLeft'
  | 'crosshairRight'
  | 'crosshairUp'
  | 'crosshairDown'
  | 'placeAtCrosshair'
  | 'zoomIn'
  | 'zoomOut'
  | 'fit'
  | 'toggleNames'
  | 'help';

export interface Shortcut {
  action: LabelAction;
  /** As shown to people. */
  keys: string[];
  description: string;
  /** Whether a keyboard event triggers it. */
  matches(event: KeyboardEvent): boolean;
}

const primary = (e: KeyboardEvent): boolean => e.ctrlKey || e.metaKey;
const plain = (e: KeyboardEvent): boolean => !e.ctrlKey && !e.metaKey && !e.altKey;
const letter = (e: KeyboardEvent, l: string): boolean => e.key.toLowerCase() === l && plain(e);

export const SHORTCUTS: Shortcut[] = [
  {
    action: 'nextImage',
    keys: ['D', 'Page Down'],
    description: 'Next image',
    matches: (e) => letter(e, 'd') || (e.key === 'PageDown' && plain(e)),
  },
  {
    action: 'previousImage',
    keys: ['A', 'Page Up'],
    description: 'Previous image',
    matches: (e) => letter(e, 'a') || (e.key === 'PageUp' && plain(e)),
  },
  {
    action: 'nextKeypoint',
    keys: ['S'],
    description: 'Next keypoint',
    matches: (e) => letter(e, 's'),
  },
  {
    action: 'previousKeypoint',
    keys: ['W'],
    description: 'Previous keypoint',
    matches: (e) => letter(e, 'w'),
  },
  {
    action: 'crosshairLeft',
    keys: ['←'],
    description: 'Move the crosshair (Shift: 10× step, Alt: 1 screen pixel)',
    matches: (e) => e.key === 'ArrowLeft' && !primary(e),
  },
  { action: 'crosshairRight', keys: ['→'], description: '', matches: (e) => e.key === 'ArrowRight' && !primary(e) },
  { action: 'crosshairUp', keys: ['↑'], description: '', matches: (e) => e.key === 'ArrowUp' && !primary(e) },
  { action: 'crosshairDown', keys: ['↓'], description: '', matches: (e) => e.key === 'ArrowDown' && !primary(e) },
  {
    action: 'placeAtCrosshair',
    keys: ['Enter'],
    description: 'Show the crosshair; pressed again, place the current keypoint there',
    matches: (e) => e.key === 'Enter' && plain(e),
  },
  {
    action: 'occluded',
    keys: ['O'],
    description: 'Toggle occluded (before placing: the next placement is occluded)',
    matches: (e) => letter(e, 'o'),
  },
  {
    action: 'absent',
    keys: ['X'],
    description: 'Mark the current keypoint absent (again: clear it)',
    matches: (e) => letter(e, 'x'),
  },
  {
    action: 'deletePoint',
    keys: ['Delete', 'Backspace'],
    description: 'Delete the current keypoint’s point',
    matches: (e) => (e.key === 'Delete' || e.key === 'Backspace') && plain(e),
  },
  {
    action: 'undo',
    keys: ['Ctrl+Z'],
    description: 'Undo (across images: shows the image it changed)',
    matches: (e) => primary(e) && !e.shiftKey && e.key.toLowerCase() === 'z',
  },
  {
    action: 'redo',
    keys: ['Ctrl+Shift+Z', 'Ctrl+Y'],
    description: 'Redo',
    matches: (e) => primary(e) && ((e.shiftKey && e.key.toLowerCase() === 'z') || e.key.toLowerCase() === 'y'),
  },
  {
    action: 'copyPrevious',
    keys: ['C', 'Ctrl+Shift+V'],
    description: 'Copy the points of the image viewed before',
    matches: (e) => letter(e, 'c') || (primary(e) && e.shiftKey && e.key.toLowerCase() === 'v'),
  },
  {
    action: 'acceptPrelabels',
    keys: ['Y'],
    description: 'Accept the model’s pre-labels (hollow points) as labels; drag one to correct it',
    matches: (e) => letter(e, 'y'),
  },
  {
    action: 'zoomIn',
    keys: ['+'],
    description: 'Zoom in (at the crosshair when shown); mouse wheel zooms at the cursor',
    matches: (e) => (e.key === '+' || e.key === '=') && !primary(e),
  },
  { action: 'zoomOut', keys: ['-'], description: 'Zoom out', matches: (e) => e.key === '-' && !primary(e) },
  { action: 'fit', keys: ['F'], description: 'Fit the image to the view', matches: (e) => letter(e, 'f') },
  { action: 'toggleNames', keys: ['L'], description: 'Show or hide point names', matches: (e) => letter(e, 'l') },
  { action: 'help', keys: ['?'], description: 'Show this help', matches: (e) => e.key === '?' },
];

export function actionFor(event: KeyboardEvent): LabelAction | null {
  return SHORTCUTS.find((s) => s.matches(event))?.action ?? null;
}

/** Mouse gestures, listed in the help overlay next to the keys. */
export const MOUSE_GESTURES: { gesture: string; description: string }[] = [
  { gesture: 'Click', description: 'Place the current keypoint, then go to the next unlabeled one' },
  { gesture: 'Drag a point', description: 'Move it (saved when you let go)' },
  { gesture: 'Click a point', description: 'Make its keypoint current' },
  { gesture: 'Drag empty space / Space+drag', description: 'Pan' },
  { gesture: 'Wheel', description: 'Zoom at the cursor' },
];
