// tfjs-node's kernel backend and binding, as far as this project reaches into them (the package
// exports no types for either): nativeOps.ts calls TensorFlow's own kernels through the backend,
// train/graphStep.ts records ops at the binding and runs graphs as SavedModels.
import type { Tensor } from '@tensorflow/tfjs';
import { tf } from './engine.js';

/** An op attribute as the binding takes it (type: one of the TF_ATTR_* constants). */
export interface OpAttr {
  name: string;
  type: number;
  value: unknown;
}

/** An op output as the binding returns it (dtype: one of the TF_* type constants). */
export interface OutputInfo {
  id: number;
  shape: number[];
  dtype: number;
}

export type TypedValues = Float32Array | Int32Array | Uint8Array;

type BindingConstant =
  | 'TF_FLOAT'
  | 'TF_INT32'
  | 'TF_BOOL'
  | 'TF_ATTR_TYPE'
  | 'TF_ATTR_FLOAT'
  | 'TF_ATTR_INT'
  | 'TF_ATTR_STRING'
  | 'TF_ATTR_BOOL'
  | 'TF_ATTR_SHAPE';

export type NativeBinding = Record<BindingConstant, number> & {
  executeOp(name: string, attrs: OpAttr[], inputIds: number[], numOutputs: number): OutputInfo[];
  createTensor(shape: number[], dtype: number, values: TypedValues): number;
  tensorDataSync(id: number): TypedValues;
  loadSavedModel(dir: string, tags: string): number;
  deleteSavedModel(id: number): void;
};

export interface NativeBackend {
  binding: NativeBinding;
  tensorMap: { get(dataId: object): { id: number; values: TypedValues | null; shape: number[]; dtype: number } };
  getInputTensorIds(tensors: { dataId: object }[]): number[];
  move(dataId: object, values: unknown, shape: number[], dtype: string, refCount: number): void;
  executeSingleOutput(name: string, attrs: OpAttr[], inputs: Tensor[]): Tensor;
  executeMultipleOutputs(name: string, attrs: OpAttr[], inputs: Tensor[], numOutputs: number): Tensor[];
  runSavedModel(id: number, inputs: Tensor[], infos: { name: string }[], outputNames: string[]): Tensor[];
}

/** The running backend when it is tfjs-node's native one, else null. */
export function nativeBackend(): NativeBackend | null {
  return tf.getBackend() === 'tensorflow' ? (tf.backend() as unknown as NativeBackend) : null;
}
