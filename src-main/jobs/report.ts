// A self-contained HTML report of an evaluation: metrics against the mean-shape baseline (and
// other models evaluated on the same split, side by side), an error-per-keypoint bar chart and
// the loss curves as inline SVG, the backend and timings, and a grid of held-out images (JPEG
// data URIs, zoomed on the labeled object) with the predicted points (filled, keypoint colour)
// joined to the true ones (rings). One file, no network.
import sharp from 'sharp';
import type { CropBox, EvaluationReport } from '../../src-shared/domain.js';
import type { TruthPoint } from '../../src-shared/metrics.js';

export interface ReportImage {
  name: string;
  /** Absolute path of the image file. */
  path: string;
  /** The item's region of the file (its crop box, or the whole image). */
  frame: CropBox;
  /** One entry per keypoint, original pixels. */
  truth: (TruthPoint | null)[];
  predicted: { x: number; y: number; confidence: number }[] | null;
}

export interface ReportInput {
  title: string;
  /** Lines under the title (dataset, command, configuration). */
  notes: string[];
  evaluation: EvaluationReport;
  /** What `evaluation` is, when other models are compared with it (e.g. "pretrained features"). */
  label?: string;
  /** Other models scored on the same split, shown beside it in the table and the charts. */
  compared?: { label: string; evaluation: EvaluationReport; loss: LossPoint[] }[];
  /** The loss curve of the pretraining run behind the model, with its method and chance level. */
  pretraining?: { method: string; loss: LossPoint[]; chance: number | null };
  keypoints: { name: string; color: string }[];
  /** Skeleton edges as keypoint index pairs. */
  edges: [number, number][];
  loss: LossPoint[];
  images: ReportImage[];
  /** Wall time of the whole job being reported, when known. */
  totalSeconds?: number;
}

export interface LossPoint {
  step: number;
  value: number;
}

/** How each pretraining method's chance level is computed (the dashed line of its loss chart). */
const CHANCE_LABELS: Record<string, string> = {
  moco: 'chance ln(queue+1)',
  'dense-contrastive': 'chance ln(2 x points - 1)',
};

const TILE = 270;
const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const fmt = (v: number | null, digits: number): string => (v === null ? '–' : v.toFixed(digits));

/** The part of the item shown: the box around true and predicted points with a margin, inside the frame. */
function viewRegion(image: ReportImage): CropBox {
  const pts = [
    ...image.truth.flatMap((t) => (t && t.visibility !== 'absent' ? [[t.x, t.y]] : [])),
    ...(image.predicted ?? []).map((p) => [p.x, p.y]),
  ].filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const f = image.frame;
  if (pts.length === 0) return f;
  const xs = pts.map((p) => Math.min(Math.max(p[0]!, f.x), f.x + f.w));
  const ys = pts.map((p) => Math.min(Math.max(p[1]!, f.y), f.y + f.h));
  const side = Math.min(
    Math.max(f.w, f.h),
    Math.max(48, 1.4 * Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys))),
  );
  const w = Math.min(side, f.w);
  const h = Math.min(side, f.h);
  const cx = (Math.min(...xs) + Math.max(...xs)) / 2;
  const cy = (Math.min(...ys) + Math.max(...ys)) / 2;
  const x = Math.round(Math.min(Math.max(cx - w / 2, f.x), f.x + f.w - w));
  const y = Math.round(Math.min(Math.max(cy - h / 2, f.y), f.y + f.h - h));
  return { x, y, w: Math.max(1, Math.round(w)), h: Math.max(1, Math.round(h)) };
}

async function imageTile(image: ReportImage, input: ReportInput): Promise<string> {
  const r = viewRegion(image);
  let href: string;
  try {
    const jpeg = await sharp(image.path)
      .rotate()
      .extract({ left: r.x, top: r.y, width: r.w, height: r.h })
      .resize({ width: TILE, height: Math.round((TILE * r.h) / r.w), fit: 'fill' })
      .jpeg({ quality: 82 })
      .toBuffer();
    href = `data:image/jpeg;base64,${jpeg.toString('base64')}`;
  } catch (err) {
    return `<figure class="tile"><div class="broken">${esc(image.name)} cannot be read: ${esc((err as Error).message)}</div></figure>`;
  }
  const u = r.w / TILE; // image pixels per screen pixel
  const parts: string[] = [
    `<image x="${r.x}" y="${r.y}" width="${r.w}" height="${r.h}" href="${href}" preserveAspectRatio="none"/>`,
  ];
  const at = (k: number) => image.truth[k];
  for (const [a, b] of input.edges) {
    const ta = at(a);
    const tb = at(b);
    if (ta && tb && ta.visibility !== 'absent' && tb.visibility !== 'absent') {
      parts.push(
        `<line x1="${ta.x}" y1="${ta.y}" x2="${tb.x}" y2="${tb.y}" stroke="#fff" stroke-opacity="0.55" stroke-width="${u}"/>`,
      );
    }
  }
  let errorSum = 0;
  let errorCount = 0;
  input.keypoints.forEach((kp, k) => {
    const t = at(k);
    const p = image.predicted?.[k];
    if (t && t.visibility !== 'absent' && p) {
      parts.push(
        `<line x1="${t.x}" y1="${t.y}" x2="${p.x}" y2="${p.y}" stroke="${kp.color}" stroke-width="${1.2 * u}"/>`,
      );
      errorSum += Math.hypot(p.x - t.x, p.y - t.y);
      errorCount++;
    }
    if (t && t.visibility !== 'absent') {
      const dash = t.visibility === 'occluded' ? ` stroke-dasharray="${2 * u} ${1.5 * u}"` : '';
      parts.push(
        `<circle cx="${t.x}" cy="${t.y}" r="${3.2 * u}" fill="none" stroke="#fff" stroke-width="${1.6 * u}"${dash}><title>${esc(kp.name)} (label)</title></circle>`,
      );
    }
    if (p) {
      parts.push(
        `<circle cx="${p.x}" cy="${p.y}" r="${2.4 * u}" fill="${kp.color}" stroke="#000" stroke-width="${0.6 * u}"><title>${esc(kp.name)} predicted, confidence ${p.confidence.toFixed(2)}</title></circle>`,
      );
    }
  });
  const h = Math.round((TILE * r.h) / r.w);
  const caption = `${esc(image.name)}${errorCount ? ` · ${(errorSum / errorCount).toFixed(1)} px` : ''}`;
  return `<figure class="tile"><svg width="${TILE}" height="${h}" viewBox="${r.x} ${r.y} ${r.w} ${r.h}">${parts.join('')}</svg><figcaption>${caption}</figcaption></figure>`;
}

/** Colours of compared models' bars (the report's model keeps its keypoint colours). */
const COMPARED_COLORS = ['#6b7280', '#a16207', '#7c3aed'];
const BASELINE_COLOR = '#c8c8c8';
/** Line colour of the report's own model in the loss charts. */
const MODEL_LOSS_COLOR = '#2563eb';

/** Horizontal bars per keypoint: mean pixel error of the model, compared models and the baseline. */
function errorChart(input: ReportInput): string {
  const series = [
    { label: input.label ?? 'model', stats: input.evaluation.model, color: (kp: { color: string }) => kp.color },
    ...(input.compared ?? []).map((c, i) => ({
      label: c.label,
      stats: c.evaluation.model,
      color: () => COMPARED_COLORS[i % COMPARED_COLORS.length]!,
    })),
    { label: 'mean-shape baseline', stats: input.evaluation.baseline, color: () => BASELINE_COLOR },
  ];
  const value = (stats: EvaluationReport['model'], name: string) => stats.perKeypoint[name]?.pixelError ?? null;
  const max = Math.max(1e-9, ...input.keypoints.flatMap((kp) => series.map((s) => value(s.stats, kp.name) ?? 0)));
  const label = 120;
  const width = 540;
  const bar = 9;
  const rowH = series.length * (bar + 1) + 7;
  const scale = (v: number) => ((width - label - 60) * v) / max;
  const body = input.keypoints.map((kp, i) => {
    const y = 38 + i * rowH;
    const bars = series.map((s, j) => {
      const v = value(s.stats, kp.name);
      const top = y + j * (bar + 1);
      return v === null
        ? ''
        : `<rect x="${label}" y="${top}" width="${scale(v)}" height="${bar}" fill="${s.color(kp)}"/><text x="${label + scale(v) + 4}" y="${top + bar - 1}">${v.toFixed(1)}</text>`;
    });
    return `<text x="${label - 6}" y="${y + (series.length * (bar + 1)) / 2 + 3}" text-anchor="end">${esc(kp.name)}</text>${bars.join('')}`;
  });
  const height = 46 + input.keypoints.length * rowH;
  // Legend: one swatch per series (the model's bars take each keypoint's colour).
  // ~6 px per character at font-size 11, plus the swatch and a gap.
  const offsets = series.map((_, j) => series.slice(0, j).reduce((x, s) => x + 6 * s.label.length + 28, 4));
  const legend = series.map((s, j) => {
    const x = offsets[j]!;
    const fill = j === 0 ? (input.keypoints[0]?.color ?? '#2563eb') : s.color({ color: '' });
    return `<rect x="${x}" y="20" width="9" height="9" fill="${fill}"/><text x="${x + 13}" y="28">${esc(s.label)}</text>`;
  });
  return `<svg class="chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-size="11">
<text x="4" y="12" font-weight="600">mean pixel error per keypoint (bars top to bottom as in the legend)</text>${legend.join('')}${body.join('')}</svg>`;
}

/**
 * Loss against step, one line per series (a legend when there are several), with an optional
 * reference line; log scale when it spans more than a decade (not with a reference line: InfoNCE
 * starts near 0 against a queue of random vectors, and a log axis would make that first step the
 * whole chart).
 */
function lossChart(
  series: { label: string; color: string; loss: LossPoint[] }[],
  title: string,
  reference?: { value: number; label: string },
): string {
  const width = 540;
  const height = 220;
  const pad = { l: 52, r: 12, t: 20, b: 28 };
  const drawn = series.filter((s) => s.loss.length >= 2);
  if (drawn.length === 0) return `<p>No ${esc(title)} curve was recorded.</p>`;
  const loss = drawn.flatMap((s) => s.loss);
  const values = [...loss.map((p) => p.value), ...(reference ? [reference.value] : [])];
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const log = !reference && lo > 0 && hi / lo > 10;
  const f = (v: number) => (log ? Math.log10(v) : v);
  const [ylo, yhi] = [f(lo), f(hi) === f(lo) ? f(lo) + 1 : f(hi)];
  const steps = loss.map((p) => p.step);
  const [xlo, xhi] = [Math.min(...steps), Math.max(...steps)];
  const x = (s: number) => pad.l + ((width - pad.l - pad.r) * (s - xlo)) / Math.max(1, xhi - xlo);
  const y = (v: number) => pad.t + ((height - pad.t - pad.b) * (yhi - f(v))) / (yhi - ylo);
  const ticks = [lo, log ? Math.sqrt(lo * hi) : (lo + hi) / 2, hi]
    .map(
      (v) =>
        `<line x1="${pad.l - 4}" x2="${width - pad.r}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/><text x="${pad.l - 6}" y="${y(v) + 4}" text-anchor="end">${v.toPrecision(2)}</text>`,
    )
    .join('');
  const line = reference
    ? `<line x1="${pad.l}" x2="${width - pad.r}" y1="${y(reference.value)}" y2="${y(reference.value)}" stroke="#dc2626" stroke-dasharray="4 3"/><text x="${width - pad.r}" y="${y(reference.value) - 4}" text-anchor="end" fill="#dc2626">${esc(reference.label)}</text>`
    : '';
  const lines = drawn.map((s) => {
    const points = s.loss.map((p) => `${x(p.step).toFixed(1)},${y(p.value).toFixed(1)}`).join(' ');
    return `<polyline points="${points}" fill="none" stroke="${s.color}" stroke-width="1.5"><title>${esc(s.label)}</title></polyline>`;
  });
  const legend =
    drawn.length < 2
      ? ''
      : drawn
          .map(
            (s, i) =>
              `<rect x="${width - pad.r - 200}" y="${pad.t + 4 + 14 * i}" width="9" height="9" fill="${s.color}"/><text x="${width - pad.r - 187}" y="${pad.t + 12 + 14 * i}">${esc(s.label)}</text>`,
          )
          .join('');
  return `<svg class="chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-size="11">
<text x="${pad.l}" y="12" font-weight="600">${esc(title)}${log ? ' (log scale)' : ''}</text>${ticks}${line}
${lines.join('')}${legend}
<text x="${pad.l}" y="${height - 8}">step ${xlo}</text><text x="${width - pad.r}" y="${height - 8}" text-anchor="end">step ${xhi}</text></svg>`;
}

function metricsTable(input: ReportInput): string {
  const e = input.evaluation;
  const row = (label: string, s: EvaluationReport['model']) =>
    `<tr><th>${esc(label)}</th><td>${fmt(s.pixelError, 2)}</td><td>${fmt(s.nme, 2)}</td><td>${fmt(s.pck, 3)}</td></tr>`;
  const models = [
    row(input.label ?? 'model', e.model),
    ...(input.compared ?? []).map((c) => row(c.label, c.evaluation.model)),
  ];
  return `<table class="metrics"><thead><tr><th></th><th>pixel error</th><th>NME (%)</th><th>PCK@${e.pckAlpha}</th></tr></thead>
<tbody>${models.join('')}${row('mean-shape baseline', e.baseline)}</tbody></table>
<p class="small">${e.images} held-out ${esc(e.split)} images, ${e.points} labeled points. NME is normalised by ${e.normalisation === 'pair' ? 'the distance of the normalisation pair' : 'the diagonal of the labeled points\u2019 box'}; PCK counts visible points within ${e.pckAlpha} \u00d7 the longer image side.</p>`;
}

export async function renderReport(input: ReportInput): Promise<string> {
  const e = input.evaluation;
  const tiles: string[] = [];
  for (const image of input.images) tiles.push(await imageTile(image, input));
  const t = e.timings;
  const timing = [
    t.trainSeconds === null
      ? null
      : `training ${t.trainSeconds.toFixed(1)} s${t.trainImagesPerSecond === null ? '' : ` (${t.trainImagesPerSecond.toFixed(1)} images/s)`}`,
    t.predictSeconds === null
      ? null
      : `prediction ${t.predictSeconds.toFixed(1)} s${t.predictImagesPerSecond === null ? '' : ` (${t.predictImagesPerSecond.toFixed(1)} images/s)`}`,
    input.totalSeconds === undefined ? null : `whole job ${input.totalSeconds.toFixed(0)} s`,
  ].filter(Boolean);
  const legend = input.keypoints
    .map((k) => `<span class="key"><i style="background:${k.color}"></i>${esc(k.name)}</span>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(input.title)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1f2937;max-width:1180px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:22px 0 8px}
.small,.notes{color:#6b7280;font-size:12px}.notes{margin:0}
table.metrics{border-collapse:collapse}table.metrics td,table.metrics th{padding:4px 12px;border-bottom:1px solid #e5e7eb;text-align:right}
table.metrics th:first-child{text-align:left}
.charts{display:flex;flex-wrap:wrap;gap:24px}.chart text{fill:#374151}
.grid{display:flex;flex-wrap:wrap;gap:10px}.tile{margin:0;width:${TILE}px}.tile svg{display:block;background:#111;border-radius:3px}
figcaption{font-size:11px;color:#4b5563}.broken{width:${TILE}px;height:80px;background:#fee2e2;font-size:11px}
.key{display:inline-block;margin-right:10px;font-size:12px}.key i{display:inline-block;width:10px;height:10px;border-radius:5px;margin-right:4px;vertical-align:-1px}
code{font-size:12px;background:#f3f4f6;padding:1px 4px;border-radius:3px}
</style></head><body>
<h1>${esc(input.title)}</h1>
${input.notes.map((n) => `<p class="notes">${esc(n)}</p>`).join('\n')}
<h2>Held-out accuracy</h2>
${metricsTable(input)}
<div class="charts">${errorChart(input)}${lossChart(
    [
      { label: input.label ?? 'model', color: MODEL_LOSS_COLOR, loss: input.loss },
      ...(input.compared ?? []).map((c, i) => ({
        label: c.label,
        color: COMPARED_COLORS[i % COMPARED_COLORS.length]!,
        loss: c.loss,
      })),
    ],
    'training loss',
  )}${
    input.pretraining
      ? lossChart(
          [{ label: input.pretraining.method, color: MODEL_LOSS_COLOR, loss: input.pretraining.loss }],
          `pretraining loss (${input.pretraining.method}, InfoNCE)`,
          input.pretraining.chance === null
            ? undefined
            : {
                value: input.pretraining.chance,
                label: CHANCE_LABELS[input.pretraining.method] ?? 'chance level',
              },
        )
      : ''
  }</div>
<h2>Compute</h2>
<p>Backend: <code>${esc(e.backend ?? 'unknown')}</code><br>${esc(timing.join(' · '))}</p>
<h2>Held-out images (${input.images.length} of ${e.images})</h2>
<p class="small">Rings: labeled position (dashed when occluded). Dots: prediction, joined to its label. Zoomed on the labeled object; caption: mean error in pixels.</p>
<p>${legend}</p>
<div class="grid">${tiles.join('\n')}</div>
</body></html>
`;
}
