// A computation run once eagerly while its TensorFlow ops are recorded, then replayed as one
// TensorFlow graph (a session of libtensorflow's graph executor) with new values fed in.
//
// Why: tfjs-node runs every op on its own (eager): between two ops TensorFlow's pool threads go to
// sleep while the JavaScript thread does tfjs's bookkeeping, and each op waits for the slower of
// them. The graph executor runs the same kernels back to back, and independent ones side by side,
// without returning to JavaScript: the heatmap head's ~140-op training step on the DLC frames
// takes 102 ms so against 141-146 ms op by op (bench/README.md "Few-shot regressors"). Nothing is
// written twice: the graph is exactly the ops the eager step ran (the network, tfjs's tape and the
// native gradients of nativeOps.ts), so both give the same numbers (graphStep.test.ts).
//
// The graph reaches TensorFlow the one way tfjs-node's binding opens: as a SavedModel (here a
// GraphDef with no variables, written to a scratch folder and loaded into a session).
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { Tensor } from '@tensorflow/tfjs';
import { engineInfo, tf } from '../engine.js';
import {
  nativeBackend,
  type NativeBackend,
  type NativeBinding,
  type OpAttr,
  type OutputInfo,
  type TypedValues,
} from '../nativeBackend.js';

/* eslint-disable @typescript-eslint/no-explicit-any -- google-protobuf's generated classes */
/** TensorFlow's protocol buffers as the native package ships them (loaded with it, not before). */
let proto: any = null;
function loadProto(): void {
  const provider = engineInfo()?.provider ?? '@tensorflow/tfjs-node';
  proto ??= createRequire(import.meta.url)(`${provider}/dist/proto/api_pb`);
}

/** Where a tensor of the recorded computation comes from. */
type Source = { node: string; index: number; dtype: number };

export class GraphStep {
  /** The session's input names, as runSavedModel takes them. */
  private readonly inputs: { name: string }[];
  /** The graph tensors fetched, in output order (outputs that are feeds are not fetched). */
  private readonly fetched: string[];

  private constructor(
    private readonly backend: NativeBackend,
    private readonly session: number,
    feedNames: readonly string[],
    /** Per output: the graph tensor to fetch, or the index of the feed it is. */
    private readonly fetches: (string | number)[],
  ) {
    this.inputs = feedNames.map((name) => ({ name }));
    this.fetched = fetches.filter((f): f is string => typeof f === 'string');
  }

  /** Whether this engine can run graphs (tfjs-node's native backend). */
  static available(): boolean {
    return nativeBackend() !== null;
  }

  /**
   * Runs `compute` eagerly (its results are returned as it made them) and records it as a graph
   * whose inputs are `feeds` (tensors whose values will change between calls) and whose outputs
   * are what `compute` returns. A tensor `compute` makes from JavaScript values (a shape, an axis,
   * a scalar) becomes a constant of the graph; so `compute` must not read a tensor's values back
   * mid-way (that is refused), and every other tensor it reads must be a feed. When the graph
   * cannot be made, `step` is null and `failure` says why; the eager outputs are good either way.
   */
  static trace(
    feeds: readonly Tensor[],
    compute: () => Tensor[],
  ): { step: GraphStep | null; outputs: Tensor[]; failure?: string } {
    const backend = nativeBackend();
    if (!backend) return { step: null, outputs: compute(), failure: 'not the native TensorFlow backend' };
    const binding = backend.binding;
    let feedTypes: number[];
    try {
      loadProto();
      feedTypes = feeds.map((t) => dtypeOf(binding, t.dtype));
    } catch (err) {
      return { step: null, outputs: compute(), failure: (err as Error).message };
    }
    const feedIds = backend.getInputTensorIds([...feeds]);
    const sources = new Map<number, Source>();
    const nodes: any[] = [];
    const attrValue = (type: number, value: unknown): any => attrFor(binding, type, value);
    feeds.forEach((t, i) => {
      const name = `feed${i}`;
      const node = new proto.NodeDef();
      node.setName(name);
      node.setOp('Placeholder');
      node.getAttrMap().set('dtype', attrValue(binding.TF_ATTR_TYPE, feedTypes[i]));
      node.getAttrMap().set('shape', shapeAttr(t.shape));
      nodes.push(node);
      if (!sources.has(feedIds[i]!)) sources.set(feedIds[i]!, { node: name, index: 0, dtype: feedTypes[i]! });
    });
    const created = new Map<number, { shape: number[]; dtype: number; values: TypedValues }>();
    let constants = 0;
    const sourceOf = (id: number): Source => {
      const known = sources.get(id);
      if (known) return known;
      // A tensor made outside the recorded ops (a shape, an axis, a scalar, a frozen weight).
      const info = created.get(id);
      if (!info) throw new Error('the step reads a tensor that was neither fed nor made in it');
      const name = `const${constants++}`;
      nodes.push(constNode(binding, name, info.shape, info.dtype, info.values));
      const source = { node: name, index: 0, dtype: info.dtype };
      sources.set(id, source);
      return source;
    };
    let ops = 0;
    // The binding's own properties are read-only: record through a stand-in for the duration.
    const createTensor: NativeBinding['createTensor'] = (shape, dtype, values) => {
      const id = binding.createTensor(shape, dtype, values);
      created.set(id, { shape: [...shape], dtype, values: values.slice() });
      return id;
    };
    let failure: string | null = null;
    const executeOp: NativeBinding['executeOp'] = (name, attrs, inputIds, numOutputs) => {
      const outputs = binding.executeOp(name, attrs, inputIds, numOutputs);
      try {
        record(name, attrs, inputIds, outputs);
      } catch (err) {
        failure ??= (err as Error).message;
      }
      return outputs;
    };
    const tensorDataSync: NativeBinding['tensorDataSync'] = (id) => {
      failure ??= 'the step reads tensor values back in the middle';
      return binding.tensorDataSync(id);
    };
    const record = (name: string, attrs: OpAttr[], inputIds: number[], outputs: OutputInfo[]) => {
      const node = new proto.NodeDef();
      const nodeName = `op${ops++}_${name}`;
      node.setName(nodeName);
      node.setOp(name);
      const inputs = inputIds.map(sourceOf);
      for (const s of inputs) node.addInput(s.index === 0 ? s.node : `${s.node}:${s.index}`);
      for (const attr of attrs) node.getAttrMap().set(attr.name, attrValue(attr.type, attr.value));
      const typeAttr = binding.TF_ATTR_TYPE;
      for (const [attr, input] of inferredAttrs(name, inputs.length)) {
        if (node.getAttrMap().has(attr)) continue;
        if (attr === 'N') node.getAttrMap().set('N', attrValue(binding.TF_ATTR_INT, input));
        else node.getAttrMap().set(attr, attrValue(typeAttr, inputs[input < 0 ? inputs.length + input : input]!.dtype));
      }
      nodes.push(node);
      outputs.forEach((o, index) => sources.set(o.id, { node: nodeName, index, dtype: o.dtype }));
    };
    const recorder = Object.create(binding, {
      createTensor: { value: createTensor },
      executeOp: { value: executeOp },
      tensorDataSync: { value: tensorDataSync },
    }) as NativeBinding;
    // tfjs-node hands a tensor made from JavaScript values to TensorFlow at its first use: one
    // made before the step but first used in it would look like a constant of the step.
    const madeInStep = new WeakSet<object>();
    const move = backend.move;
    backend.move = (dataId, ...rest) => {
      madeInStep.add(dataId);
      move.call(backend, dataId, ...rest);
    };
    const getInputTensorIds = backend.getInputTensorIds;
    backend.getInputTensorIds = (tensors) => {
      if (tensors.some((t) => backend.tensorMap.get(t.dataId).values !== null && !madeInStep.has(t.dataId)))
        failure ??= 'the step reads a tensor that was neither fed nor made in it';
      return getInputTensorIds.call(backend, tensors);
    };
    let outputs: Tensor[];
    backend.binding = recorder;
    try {
      outputs = compute();
    } finally {
      backend.binding = binding;
      delete (backend as Partial<NativeBackend>).getInputTensorIds;
      delete (backend as Partial<NativeBackend>).move;
    }
    if (failure) return { step: null, outputs, failure };
    try {
      // An output that is a feed as it came in (a statistic the step did not move) is handed back
      // as the fed tensor: a session cannot fetch what it is fed.
      const fetches = backend.getInputTensorIds(outputs).map((id): string | number => {
        const s = sourceOf(id);
        return s.node.startsWith('feed') ? Number(s.node.slice(4)) : `${s.node}:${s.index}`;
      });
      const graph = new proto.GraphDef();
      nodes.forEach((n) => graph.addNode(n));
      const versions = new proto.VersionDef();
      // The GraphDef version of TensorFlow 2.9 (the binding's): no op used here changed since.
      versions.setProducer(1205);
      graph.setVersions(versions);
      const session = loadGraph(binding, graph);
      const names = feeds.map((_, i) => `feed${i}:0`);
      return { step: new GraphStep(backend, session, names, fetches), outputs };
    } catch (err) {
      return { step: null, outputs, failure: (err as Error).message };
    }
  }

  /** Runs the graph on new values of the feeds (same order, shapes and types as traced). */
  run(feeds: readonly Tensor[]): Tensor[] {
    if (feeds.length !== this.inputs.length)
      throw new Error(`graph step: ${feeds.length} feeds for ${this.inputs.length} inputs`);
    const fetched = this.backend.runSavedModel(this.session, [...feeds], this.inputs, this.fetched);
    let next = 0;
    return this.fetches.map((f) => (typeof f === 'string' ? fetched[next++]! : tf.clone(feeds[f]!)));
  }

  dispose(): void {
    this.backend.binding.deleteSavedModel(this.session);
  }
}

/**
 * Attributes TensorFlow's eager runtime infers from an op's inputs but a graph must state:
 * [attribute, index of the input whose dtype it is (negative: from the end)], or ['N', count].
 * Which input sets which attribute comes from each op's OpDef (tensorflow/core/ops).
 */
function inferredAttrs(op: string, inputs: number): [string, number][] {
  const byInput: Record<string, [string, number][]> = {
    ExpandDims: [['Tdim', 1]],
    Reshape: [['Tshape', 1]],
    Transpose: [['Tperm', 1]],
    Sum: [['Tidx', 1]],
    Mean: [['Tidx', 1]],
    Max: [['Tidx', 1]],
    Min: [['Tidx', 1]],
    Prod: [['Tidx', 1]],
    Pad: [['Tpaddings', 1]],
    PadV2: [['Tpaddings', 1]],
    Tile: [['Tmultiples', 1]],
    Slice: [['Index', 1]],
    StridedSlice: [['Index', 1]],
    ConcatV2: [
      ['Tidx', -1],
      ['N', inputs - 1],
    ],
    AddN: [['N', inputs]],
    Pack: [['N', inputs]],
    SplitV: [['Tlen', 1]],
    Split: [['T', 1]],
    Select: [['T', 1]],
    SelectV2: [['T', 1]],
    Fill: [
      ['T', 1],
      ['index_type', 0],
    ],
    BroadcastTo: [['Tidx', 1]],
    Conv2DBackpropInput: [['T', 1]],
    Cast: [['SrcT', 0]],
  };
  const attrs = byInput[op] ?? [];
  // Most ops type their first input T; Cast types it SrcT.
  if (inputs > 0 && op !== 'Cast' && !attrs.some(([a]) => a === 'T')) attrs.push(['T', 0]);
  return attrs;
}

function dtypeOf(binding: NativeBinding, dtype: string): number {
  const types: Record<string, number> = {
    float32: binding.TF_FLOAT,
    int32: binding.TF_INT32,
    bool: binding.TF_BOOL,
  };
  const t = types[dtype];
  if (typeof t !== 'number') throw new Error(`unsupported dtype ${dtype}`);
  return t;
}

function shapeAttr(shape: readonly number[]): any {
  const s = new proto.TensorShape();
  for (const size of shape) {
    const d = new proto.TensorShape.Dim();
    d.setSize(size);
    s.addDim(d);
  }
  const a = new proto.AttrValue();
  a.setShape(s);
  return a;
}

function attrFor(binding: NativeBinding, type: number, value: unknown): any {
  if (type === binding.TF_ATTR_SHAPE) return shapeAttr(value as number[]);
  // AttrValue's field for each attribute type tfjs-node sets (a list when the value is an array).
  const fields = new Map<unknown, [string, (v: any) => unknown]>([
    [binding.TF_ATTR_STRING, ['S', (v: string) => new TextEncoder().encode(v)]],
    [binding.TF_ATTR_INT, ['I', (v) => v]],
    [binding.TF_ATTR_FLOAT, ['F', (v) => v]],
    [binding.TF_ATTR_BOOL, ['B', (v) => v]],
    [binding.TF_ATTR_TYPE, ['Type', (v) => v]],
  ]);
  const field = fields.get(type);
  if (!field) throw new Error(`unsupported attribute type ${type}`);
  const [name, convert] = field;
  const a = new proto.AttrValue();
  if (Array.isArray(value)) {
    const list = new proto.AttrValue.ListValue();
    list[`set${name}List`](value.map(convert));
    a.setList(list);
  } else a[`set${name}`](convert(value));
  return a;
}

function constNode(binding: NativeBinding, name: string, shape: number[], dtype: number, values: TypedValues): any {
  const t = new proto.Tensor();
  t.setDtype(dtype);
  t.setTensorShape(shapeAttr(shape).getShape());
  t.setTensorContent(new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice());
  const node = new proto.NodeDef();
  node.setName(name);
  node.setOp('Const');
  node.getAttrMap().set('dtype', attrFor(binding, binding.TF_ATTR_TYPE, dtype));
  const value = new proto.AttrValue();
  value.setTensor(t);
  node.getAttrMap().set('value', value);
  return node;
}

/** Writes the graph as a SavedModel in a scratch folder, opens a session on it, removes the folder. */
function loadGraph(binding: NativeBinding, graph: any): number {
  const info = new proto.MetaGraphDef.MetaInfoDef();
  info.addTags('serve');
  const meta = new proto.MetaGraphDef();
  meta.setMetaInfoDef(info);
  meta.setGraphDef(graph);
  const model = new proto.SavedModel();
  model.setSavedModelSchemaVersion(1);
  model.addMetaGraphs(meta);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'landmark-graph-'));
  try {
    fs.writeFileSync(path.join(dir, 'saved_model.pb'), model.serializeBinary());
    return binding.loadSavedModel(dir, 'serve');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
