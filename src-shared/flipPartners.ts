// Left/right flip partners proposed from keypoint names. A name says it has a side when one of its
// words is left/right or l/r (any case), found as a prefix, suffix or infix between separators
// (space _ - . /) or camelCase boundaries ("left_eye", "paw_L", "LeftHand", "eyeL", "forelegR1",
// "L_F_Paw"), or when a word starts with left/right ("leftear"). Two names partner when they are
// the same but for that side word, one left and one right. Where a side and the rest of the name
// match more than one name ("leftear", "left_ear", "LeftEar" and "rightear"), nothing is paired:
// flips taught with a wrong partner would swap points.

export type Side = 'left' | 'right';

export interface NamedSide {
  side: Side;
  /** The name without its side word, lower case, words joined by '_': what partners share. */
  rest: string;
}

export interface FlipPartnerProposals {
  /** Proposed partners as [left name, right name], in the order of the left names. */
  pairs: [string, string][];
  /** Names that say they have a side but were not paired, with why (for reports and warnings). */
  unpaired: { name: string; reason: string }[];
}

/** Words of a name: split at separators and camelCase; a trailing number stays with its word. */
function words(name: string): string[] {
  return name.split(/[\s_\-./]+/).flatMap((part) => part.match(/[A-Z]+(?![a-z])\d*|[A-Z]?[a-z]+\d*|\d+/g) ?? []);
}

const SIDE_WORDS: Record<string, Side> = { left: 'left', right: 'right', l: 'left', r: 'right' };

/** The side a keypoint name says it has, or null. */
export function sideOfName(name: string): NamedSide | null {
  const parts = words(name.trim());
  for (let i = 0; i < parts.length; i++) {
    // "R1" in "forelegR1": the side letter with the limb's number after it.
    const [, letters = '', digits = ''] = /^([A-Za-z]+)(\d*)$/.exec(parts[i]!) ?? [];
    const side = SIDE_WORDS[letters.toLowerCase()];
    if (side) {
      const rest = [...parts.slice(0, i), ...(digits ? [digits] : []), ...parts.slice(i + 1)];
      return { side, rest: rest.join('_').toLowerCase() };
    }
  }
  // A side word run into the next one: "leftear", "rightfrontpaw".
  for (let i = 0; i < parts.length; i++) {
    const match = /^(left|right)(.+)$/i.exec(parts[i]!);
    if (match) {
      const rest = [...parts.slice(0, i), match[2]!, ...parts.slice(i + 1)];
      return { side: match[1]!.toLowerCase() as Side, rest: rest.join('_').toLowerCase() };
    }
  }
  return null;
}

/**
 * Partners proposed for `names` (a schema's keypoints). `taken` names already have a partner and
 * are neither proposed nor reported.
 */
export function proposeFlipPartners(
  names: readonly string[],
  taken: ReadonlySet<string> = new Set(),
): FlipPartnerProposals {
  const byRest = new Map<string, { left: string[]; right: string[] }>();
  const sided: { name: string; rest: string }[] = [];
  for (const name of names) {
    if (taken.has(name)) continue;
    const named = sideOfName(name);
    if (!named) continue;
    sided.push({ name, rest: named.rest });
    const group = byRest.get(named.rest) ?? { left: [], right: [] };
    group[named.side].push(name);
    byRest.set(named.rest, group);
  }
  const pairs: [string, string][] = [];
  const unpaired: FlipPartnerProposals['unpaired'] = [];
  const paired = new Set<string>();
  for (const { left, right } of byRest.values()) {
    if (left.length === 1 && right.length === 1) {
      pairs.push([left[0]!, right[0]!]);
      paired.add(left[0]!).add(right[0]!);
    }
  }
  for (const { name, rest } of sided) {
    if (paired.has(name)) continue;
    const { left, right } = byRest.get(rest)!;
    const reason =
      left.length === 0 || right.length === 0
        ? `no keypoint is its ${left.length === 0 ? 'left' : 'right'} counterpart`
        : `ambiguous: ${quoteList(left)} and ${quoteList(right)} all name the same point on either side`;
    unpaired.push({ name, reason });
  }
  pairs.sort((a, b) => names.indexOf(a[0]) - names.indexOf(b[0]));
  return { pairs, unpaired };
}

const quoteList = (names: string[]): string => names.map((n) => `"${n}"`).join(', ');

/** Whether pairing keypoints `a` and `b` is among the `rejected` pairs (either order). */
export function isRejectedPair(rejected: readonly (readonly [number, number])[], a: number, b: number): boolean {
  return rejected.some(([x, y]) => (x === a && y === b) || (x === b && y === a));
}

/** What the schema editor, the importers and training need to know about a schema's partners. */
export interface FlipPartnerReview {
  /** Name-based pairs of partner-less keypoints that the user has not rejected. */
  proposals: { left: number; right: number }[];
  /** Keypoints whose names say they have a side but that have no partner, with why. */
  unpaired: { keypointId: number; reason: string }[];
}

/**
 * Reviews a schema's keypoints: partners proposed from names (leaving out `rejected` pairs of ids)
 * and every sided keypoint still without a partner.
 */
export function reviewFlipPartners(
  keypoints: readonly { id: number; name: string; flipPartnerId: number | null }[],
  rejected: readonly (readonly [number, number])[],
): FlipPartnerReview {
  const idOf = new Map(keypoints.map((k) => [k.name, k.id]));
  const taken = new Set(keypoints.filter((k) => k.flipPartnerId !== null).map((k) => k.name));
  const found = proposeFlipPartners(
    keypoints.map((k) => k.name),
    taken,
  );
  const proposals: FlipPartnerReview['proposals'] = [];
  const unpaired: FlipPartnerReview['unpaired'] = found.unpaired.map(({ name, reason }) => ({
    keypointId: idOf.get(name)!,
    reason,
  }));
  for (const [leftName, rightName] of found.pairs) {
    const [left, right] = [idOf.get(leftName)!, idOf.get(rightName)!];
    const rejectedPair = isRejectedPair(rejected, left, right);
    if (!rejectedPair) proposals.push({ left, right });
    for (const [id, other] of [
      [left, rightName],
      [right, leftName],
    ] as const) {
      unpaired.push({
        keypointId: id,
        reason: rejectedPair
          ? `its partner by name, "${other}", was rejected`
          : `its partner by name, "${other}", is proposed but not set`,
      });
    }
  }
  const order = new Map(keypoints.map((k, i) => [k.id, i]));
  unpaired.sort((a, b) => order.get(a.keypointId)! - order.get(b.keypointId)!);
  return { proposals, unpaired };
}
