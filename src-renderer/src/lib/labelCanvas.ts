// The Konva drawing of the labeling screen. Two layers: the image, transformed by the viewport
// (image pixels -> screen), and an overlay in screen pixels (points, skeleton, crosshair) so
// markers keep their size at any zoom. Kept imperative: Svelte tells it what to show, it tells
// Svelte what the user did.
import Konva from 'konva';
import type { Visibility } from '../../../src-shared/domain.js';
import {
  clampTo,
  contains,
  fitRegion,
  panBy,
  toImage,
  toScreen,
  zoomAt,
  type Point,
  type Region,
  type Viewport,
} from './viewport.js';

export interface CanvasPoint {
  keypointId: number;
  name: string;
  color: string;
  /** Image pixels (whole file, also for crop items). */
  x: number;
  y: number;
  visibility: Visibility;
  /**
   * A model's prediction, not (yet) a label: drawn hollow and dashed, as opaque as it is
   * confident, with its confidence by its name. Dragging it makes it a label (a correction).
   */
  predicted?: { confidence: number };
  /** Where a person's label for this keypoint is, when it differs: a line from it shows the error. */
  labelAt?: Point;
}

/** A point marked on an overlay map: the match, or the second-best peak (a left/right twin?). */
export interface MapMark extends Point {
  kind: 'match' | 'second';
  label: string;
}

export interface CanvasEdge {
  a: number;
  b: number;
}

export interface LabelCanvasEvents {
  /** A click on the image away from any point (image pixels). */
  place(p: Point): void;
  /** A point was dragged and let go (image pixels). */
  move(keypointId: number, p: Point): void;
  /** A point was clicked. */
  select(keypointId: number): void;
}

const POINT_RADIUS = 6;
const CURRENT_RING_RADIUS = 11;
/** Pointer travel (screen pixels) that turns a click into a pan or a drag. */
const DRAG_THRESHOLD = 3;
const EDGE_COLOR = 'rgba(235, 235, 235, 0.75)';

export class LabelCanvas {
  private readonly stage: Konva.Stage;
  private readonly imageLayer = new Konva.Layer({ listening: false });
  /** An overlay map (heatmap, similarity map) over the image, in image pixels. */
  private readonly mapNode = new Konva.Image({ image: undefined, visible: false, opacity: 0.6, listening: false });
  /** Where a match landed and its second-best peak, drawn over the map. */
  private marks: MapMark[] = [];
  private readonly overlay = new Konva.Layer();
  private readonly imageNode = new Konva.Image({ image: undefined, visible: false });
  private view: Viewport = { scale: 1, x: 0, y: 0 };
  /** True while the view is the fitted one, so a resize refits instead of keeping a zoom. */
  private fitted = true;
  private region: Region | null = null;
  private shownImageId: number | null = null;
  private points: CanvasPoint[] = [];
  private edges: CanvasEdge[] = [];
  private currentId: number | null = null;
  private crosshair: Point | null = null;
  private showNames = true;
  private spaceDown = false;
  private draggingPoint = false;
  private pan: { pointerId: number; start: Point; view: Viewport; moved: boolean; place: boolean } | null = null;

  constructor(
    private readonly container: HTMLDivElement,
    private readonly events: LabelCanvasEvents,
  ) {
    this.stage = new Konva.Stage({
      container,
      width: Math.max(1, container.clientWidth),
      height: Math.max(1, container.clientHeight),
    });
    this.imageLayer.add(this.imageNode, this.mapNode);
    this.stage.add(this.imageLayer, this.overlay);
    container.addEventListener('pointerdown', this.onPointerDown);
    container.addEventListener('pointermove', this.onPointerMove);
    container.addEventListener('pointerup', this.onPointerUp);
    container.addEventListener('pointercancel', this.onPointerCancel);
    container.addEventListener('wheel', this.onWheel, { passive: false });
  }

  destroy(): void {
    this.container.removeEventListener('pointerdown', this.onPointerDown);
    this.container.removeEventListener('pointermove', this.onPointerMove);
    this.container.removeEventListener('pointerup', this.onPointerUp);
    this.container.removeEventListener('pointercancel', this.onPointerCancel);
    this.container.removeEventListener('wheel', this.onWheel);
    this.stage.destroy();
  }

  resize(width: number, height: number): void {
    if (width < 1 || height < 1) return;
    if (width === this.stage.width() && height === this.stage.height()) return;
    this.stage.size({ width, height });
    if (this.fitted) this.fit();
    else this.redraw();
  }

  /**
   * Shows an image's pixels in `region` (image pixels: the crop of a crop item, else the whole
   * image). A rendition is exactly the item (the host cuts crops and applies EXIF orientation),
   * so it is stretched over the region whatever its size: a thumbnail can stand in (`preview`)
   * until the full rendition is decoded. A new image is fitted to the view; new pixels for the
   * image already shown keep the zoom. Draws synchronously, then marks the container with the
   * image id (data-drawn-image-id only for full pixels) for tests and the switch benchmark.
   */
  showImage(imageId: number, source: ImageBitmap | null, region: Region, preview = false): void {
    const sameImage = this.shownImageId === imageId;
    this.shownImageId = imageId;
    // Nothing to place on without pixels: clicks do nothing until a usable image shows.
    this.region = source ? region : null;
    this.imageNode.setAttrs({
      image: source ?? undefined,
      visible: source !== null,
      x: region.x,
      y: region.y,
      width: region.w,
      height: region.h,
    });
    if (!sameImage) {
      this.view = fitRegion(region, this.stage.width(), this.stage.height());
      this.fitted = true;
    }
    this.applyView();
    this.imageLayer.draw();
    this.renderOverlay(true);
    this.container.dataset.previewImageId = source && preview ? String(imageId) : '';
    this.container.dataset.drawnImageId = source && !preview ? String(imageId) : '';
  }

  /** Lays a map over `bounds` (image pixels), with its marks; null hides it. */
  setMap(map: { canvas: HTMLCanvasElement; bounds: Region } | null, marks: MapMark[] = []): void {
    this.mapNode.setAttrs(
      map
        ? {
            image: map.canvas,
            visible: true,
            x: map.bounds.x,
            y: map.bounds.y,
            width: map.bounds.w,
            height: map.bounds.h,
          }
        : { image: undefined, visible: false },
    );
    this.marks = map ? marks : [];
    this.container.dataset.map = map ? `${map.canvas.width}x${map.canvas.height}` : '';
    this.imageLayer.batchDraw();
    this.renderOverlay();
  }

  setPoints(points: CanvasPoint[], edges: CanvasEdge[], currentId: number | null): void {
    this.points = points;
    this.edges = edges;
    this.currentId = currentId;
    this.renderOverlay();
  }

  setCrosshair(p: Point | null): void {
    this.crosshair = p;
    this.renderOverlay();
  }

  setShowNames(show: boolean): void {
    this.showNames = show;
    this.renderOverlay();
  }

  setSpaceDown(down: boolean): void {
    this.spaceDown = down;
    this.container.classList.toggle('panning', down);
    for (const group of this.overlay.find('.point')) group.draggable(!down);
  }

  fit(): void {
    if (!this.region) return;
    this.view = fitRegion(this.region, this.stage.width(), this.stage.height());
    this.fitted = true;
    this.redraw();
  }

  /** Zooms at a screen point; without one, at the crosshair when shown, else the view centre. */
  zoomBy(factor: number, anchor?: Point): void {
    if (!this.region) return;
    const at =
      anchor ??
      (this.crosshair
        ? toScreen(this.view, this.crosshair)
        : { x: this.stage.width() / 2, y: this.stage.height() / 2 });
    const fitScale = fitRegion(this.region, this.stage.width(), this.stage.height()).scale;
    this.view = zoomAt(this.view, factor, at, fitScale);
    this.fitted = false;
    this.redraw();
  }

  /** Keeps an image point on screen (the keyboard crosshair), panning only when it left the view. */
  reveal(p: Point): void {
    const s = toScreen(this.view, p);
    const margin = 24;
    const dx = s.x < margin ? margin - s.x : s.x > this.stage.width() - margin ? this.stage.width() - margin - s.x : 0;
    const dy =
      s.y < margin ? margin - s.y : s.y > this.stage.height() - margin ? this.stage.height() - margin - s.y : 0;
    if (dx === 0 && dy === 0) return;
    this.view = panBy(this.view, dx, dy);
    this.fitted = false;
    this.redraw();
  }

  /** Screen pixels per image pixel. */
  get scale(): number {
    return this.view.scale;
  }

  /** The image point at the centre of the view. */
  viewCentre(): Point {
    return toImage(this.view, { x: this.stage.width() / 2, y: this.stage.height() / 2 });
  }

  private redraw(): void {
    this.applyView();
    this.imageLayer.batchDraw();
    this.renderOverlay();
  }

  private applyView(): void {
    this.imageLayer.setAttrs({ x: this.view.x, y: this.view.y, scaleX: this.view.scale, scaleY: this.view.scale });
    // Past 3 screen pixels per image pixel show pixels as squares: placement needs to see them.
    this.imageLayer.imageSmoothingEnabled(this.view.scale < 3);
    this.container.dataset.view = JSON.stringify(this.view);
  }

  private renderOverlay(now = false): void {
    // The dragged node must survive until the drag ends; dragend renders again.
    if (this.draggingPoint) return;
    this.overlay.destroyChildren();
    const shown = this.points.filter((p) => p.visibility !== 'absent');
    // The skeleton joins each keypoint's label, or its prediction where it has no label.
    const placed = new Map(
      [...shown.filter((p) => p.predicted), ...shown.filter((p) => !p.predicted)].map((p) => [p.keypointId, p]),
    );

    for (const edge of this.edges) {
      const a = placed.get(edge.a);
      const b = placed.get(edge.b);
      if (!a || !b) continue;
      const sa = toScreen(this.view, a);
      const sb = toScreen(this.view, b);
      this.overlay.add(
        new Konva.Line({
          name: 'edge',
          points: [sa.x, sa.y, sb.x, sb.y],
          stroke: EDGE_COLOR,
          strokeWidth: 2,
          dash: a.visibility === 'occluded' || b.visibility === 'occluded' ? [6, 4] : [],
          listening: false,
          edgeA: edge.a,
          edgeB: edge.b,
        }),
      );
    }

    for (const point of shown) {
      if (point.labelAt) this.overlay.add(this.errorVector(point.labelAt, point));
      this.overlay.add(this.pointGroup(point));
    }
    for (const mark of this.marks) this.overlay.add(this.markGroup(mark));
    if (this.crosshair) this.overlay.add(this.crosshairGroup(this.crosshair));
    if (now) this.overlay.draw();
    else this.overlay.batchDraw();
  }

  private markGroup(mark: MapMark): Konva.Group {
    const s = toScreen(this.view, mark);
    const color = mark.kind === 'match' ? '#ffffff' : '#ff9f43';
    const group = new Konva.Group({ name: `mark-${mark.kind}`, x: s.x, y: s.y, listening: false });
    group.add(
      new Konva.Circle({ radius: 9, stroke: color, strokeWidth: 2, dash: mark.kind === 'second' ? [4, 3] : [] }),
    );
    group.add(
      new Konva.Text({ x: 11, y: 4, text: mark.label, fontSize: 11, fill: color, fontFamily: 'system-ui, sans-serif' }),
    );
    return group;
  }

  /** A line from a person's label to the model's prediction of the same keypoint. */
  private errorVector(from: Point, to: CanvasPoint): Konva.Line {
    const a = toScreen(this.view, from);
    const b = toScreen(this.view, to);
    return new Konva.Line({
      name: 'error-vector',
      points: [a.x, a.y, b.x, b.y],
      stroke: to.color,
      strokeWidth: 1.5,
      dash: [2, 3],
      listening: false,
    });
  }

  private pointGroup(point: CanvasPoint): Konva.Group {
    const s = toScreen(this.view, point);
    const current = point.keypointId === this.currentId;
    const predicted = point.predicted;
    const hollow = point.visibility === 'occluded' || predicted !== undefined;
    const group = new Konva.Group({
      name: 'point',
      x: s.x,
      y: s.y,
      draggable: !this.spaceDown,
      dragDistance: DRAG_THRESHOLD,
      // A prediction shows how sure the model is: a guess is faint, a confident point solid.
      opacity: predicted ? 0.35 + 0.65 * predicted.confidence : 1,
    });
    if (current) {
      group.add(
        new Konva.Circle({
          radius: CURRENT_RING_RADIUS,
          stroke: '#ffffff',
          strokeWidth: 1.5,
          dash: [3, 3],
          listening: false,
        }),
      );
    }
    group.add(
      new Konva.Circle({
        name: 'point-hit',
        radius: POINT_RADIUS,
        fill: hollow ? undefined : point.color,
        stroke: hollow ? point.color : '#ffffff',
        strokeWidth: hollow ? 2.5 : 1.5,
        dash: predicted ? [4, 2] : [],
        // The whole disc grabs the point, hollow or not.
        hitStrokeWidth: 12,
        fillEnabled: !hollow,
      }),
    );
    // Light text on a dark tag reads on any image; the disc carries the colour. Hidden names
    // (names off, not the current point) show while the pointer is on the point.
    const label = new Konva.Label({ x: POINT_RADIUS + 3, y: -POINT_RADIUS - 16, listening: false, name: 'point-name' });
    label.add(new Konva.Tag({ fill: 'rgba(12, 13, 16, 0.72)', cornerRadius: 3 }));
    label.add(
      new Konva.Text({
        text: predicted ? `${point.name} ${predicted.confidence.toFixed(2)}` : point.name,
        padding: 3,
        fontSize: 12,
        fontFamily: 'system-ui, sans-serif',
        fill: current ? '#ffffff' : '#dcdfe4',
        fontStyle: current ? 'bold' : 'normal',
      }),
    );
    const alwaysNamed = this.showNames || current;
    label.visible(alwaysNamed);
    group.add(label);
    if (!alwaysNamed) {
      const hover = (shown: boolean) => () => {
        label.visible(shown);
        if (shown) group.moveToTop();
        this.overlay.batchDraw();
      };
      group.on('mouseenter', hover(true));
      group.on('mouseleave', hover(false));
    }
    group.dragBoundFunc((pos) => {
      if (!this.region) return pos;
      return toScreen(this.view, clampTo(this.region, toImage(this.view, pos)));
    });
    group.on('dragstart', () => {
      this.draggingPoint = true;
    });
    group.on('dragmove', () => this.followEdges(point.keypointId, group.position()));
    group.on('dragend', () => {
      this.draggingPoint = false;
      this.events.move(point.keypointId, toImage(this.view, group.position()));
    });
    group.on('click tap', () => this.events.select(point.keypointId));
    return group;
  }

  private followEdges(keypointId: number, at: Point): void {
    for (const line of this.overlay.find<Konva.Line>('.edge')) {
      const pts = line.points();
      if (line.getAttr('edgeA') === keypointId) line.points([at.x, at.y, pts[2] ?? 0, pts[3] ?? 0]);
      if (line.getAttr('edgeB') === keypointId) line.points([pts[0] ?? 0, pts[1] ?? 0, at.x, at.y]);
    }
  }

  private crosshairGroup(p: Point): Konva.Group {
    const s = toScreen(this.view, p);
    const color = this.points.find((q) => q.keypointId === this.currentId)?.color ?? '#ffd400';
    const group = new Konva.Group({ name: 'crosshair', x: s.x, y: s.y, listening: false });
    for (const [x1, y1, x2, y2] of [
      [-16, 0, -4, 0],
      [4, 0, 16, 0],
      [0, -16, 0, -4],
      [0, 4, 0, 16],
    ] as const) {
      group.add(new Konva.Line({ points: [x1, y1, x2, y2], stroke: '#000000', strokeWidth: 4, opacity: 0.6 }));
      group.add(new Konva.Line({ points: [x1, y1, x2, y2], stroke: color, strokeWidth: 2 }));
    }
    return group;
  }

  private pointerPosition(event: PointerEvent | WheelEvent): Point {
    const rect = this.container.getBoundingClientRect();
    return { x: event.clientX - rect.left, y: event.clientY - rect.top };
  }

  private readonly onPointerDown = (event: PointerEvent): void => {
    const leftButton = event.button === 0;
    if (!leftButton && event.button !== 1) return;
    const at = this.pointerPosition(event);
    const hit = this.stage.getIntersection(at);
    // A left press on a point belongs to Konva's drag (unless space turns every drag into a pan).
    if (leftButton && !this.spaceDown && hit?.name() === 'point-hit') return;
    this.pan = {
      pointerId: event.pointerId,
      start: at,
      view: this.view,
      moved: false,
      place: leftButton && !this.spaceDown,
    };
    this.container.setPointerCapture(event.pointerId);
  };

  private readonly onPointerMove = (event: PointerEvent): void => {
    const pan = this.pan;
    if (!pan || event.pointerId !== pan.pointerId) return;
    const at = this.pointerPosition(event);
    const dx = at.x - pan.start.x;
    const dy = at.y - pan.start.y;
    if (!pan.moved && Math.hypot(dx, dy) < DRAG_THRESHOLD) return;
    pan.moved = true;
    this.view = panBy(pan.view, dx, dy);
    this.fitted = false;
    this.redraw();
  };

  private readonly onPointerUp = (event: PointerEvent): void => {
    const pan = this.pan;
    if (!pan || event.pointerId !== pan.pointerId) return;
    this.pan = null;
    if (this.container.hasPointerCapture(event.pointerId)) this.container.releasePointerCapture(event.pointerId);
    if (pan.moved || !pan.place || !this.region) return;
    const p = toImage(this.view, this.pointerPosition(event));
    if (contains(this.region, p)) this.events.place(p);
  };

  private readonly onPointerCancel = (): void => {
    this.pan = null;
  };

  private readonly onWheel = (event: WheelEvent): void => {
    event.preventDefault();
    // Lines (Firefox, some mice) are about 40 pixels each.
    const pixels = event.deltaMode === 1 ? event.deltaY * 40 : event.deltaY;
    this.zoomBy(Math.exp(-pixels * 0.0015), this.pointerPosition(event));
  };
}
