/**
 * Backbones: convolutional feature extractors returning a tap after each stage.
 *
 *   const net = createBackbone({ arch: 'resnet18' }, { seed: 1 });
 *   const taps = net.apply(images, { training: false });          // { conv1, conv2_x, ..., conv5_x }
 *   const vars = net.trainableVariables('last');                    // fine-tune conv5_x only
 *   const key = createBackbone(net.config, { trainable: false });  // MoCo key encoder
 *   copyWeights(key.weights, net.weights); emaUpdate(key.weights, net.weights, 0.999);  // weights.ts
 *
 * Input: float32 [B, H, W, 3] images already normalised by the image pipeline. Output taps are
 * NHWC feature maps; `stages` lists them shallow to deep with channels and stride.
 */
import type { Scalar, Tensor4D, Variable } from '@tensorflow/tfjs';
import { tf } from '../engine.js';
import { createResNet, resnetStages } from './resnet.js';
import type { RESNET_STAGES } from './resnet.js';
import { createSmallNet, smallnetStages } from './smallnet.js';
import type { SMALLNET_STAGES } from './smallnet.js';
import type { FineTuneChoice } from '../../../src-shared/domain.js';

export type ResNetArch = 'resnet18' | 'resnet50';
export type BackboneConfig =
  | { arch: ResNetArch }
  /** Paper 004 Sec. 4.1: six convs (20, 48, 64, 80, 256, K); `outChannels` is K. */
  | { arch: 'smallnet'; outChannels: number };
export type BackboneArch = BackboneConfig['arch'];

export type ResNetStage = (typeof RESNET_STAGES)[number];
export type SmallNetStage = (typeof SMALLNET_STAGES)[number];

/** How much of a backbone a head trains: nothing, only its last stage, or everything. */
export type FineTune = FineTuneChoice;

export interface StageInfo {
  /** Paper 000's names for ResNets (conv1, conv2_x .. conv5_x); conv1 .. conv6 for SmallNet. */
  name: string;
  channels: number;
  /** Input pixels per feature pixel (96x96 input, stride 2 -> 48x48). */
  stride: number;
}

export interface ForwardOptions {
  /**
   * true: batch norm uses batch statistics and updates its moving averages (in the stages being
   * trained, see fineTune); false: batch norm uses the moving averages (inference, frozen use).
   */
  training: boolean;
  /**
   * With training: which stages train. Frozen stages run as in inference so a frozen backbone
   * gives the same features whatever the batch. Default 'all'.
   */
  fineTune?: FineTune;
  /** Taps to return (default: every stage); the forward pass stops after the deepest one. */
  stages?: readonly string[];
  /**
   * With training: batch norm statistics per each of this many consecutive, nearly equal
   * sub-batches instead of the whole batch (split batch norm, MoCo's ShuffleBN on one device);
   * same result as running each sub-batch on its own, in order. Default 1.
   */
  batchNormGroups?: number;
}

/** Feature maps by stage name. */
export type Taps = Record<string, Tensor4D>;

export interface Backbone {
  readonly config: BackboneConfig;
  /** Shallow to deep. */
  readonly stages: readonly StageInfo[];
  /**
   * Every weight by torchvision state_dict name, batch-norm moving statistics included
   * (`bn1.running_mean`): what save/load, copies and EMA updates work on. Conv kernels are HWIO.
   */
  readonly weights: ReadonlyMap<string, Variable>;
  /** Names in `weights` that are learned parameters (not batch-norm moving statistics). */
  readonly parameterNames: readonly string[];
  /** Runs the network; returns the requested taps (new tensors the caller disposes). */
  apply(images: Tensor4D, options: ForwardOptions): Taps;
  /** Variables an optimizer should update for this fine-tuning mode (no moving statistics). */
  trainableVariables(fineTune?: FineTune): Variable[];
  dispose(): void;
}

export interface CreateOptions {
  /** Initialiser seed; default: random. */
  seed?: number;
  /** false for copies updated only by EMA (MoCo's key encoder): no tf gradients. Default true. */
  trainable?: boolean;
  /** false: zero weights, for a network loaded from a file right after (see ParameterSet). Default true. */
  randomInit?: boolean;
}

export function createBackbone(config: BackboneConfig, options: CreateOptions = {}): Backbone {
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const trainable = options.trainable ?? true;
  switch (config.arch) {
    case 'resnet18':
    case 'resnet50':
      return createResNet(config, seed, trainable, options.randomInit);
    case 'smallnet':
      return createSmallNet(config, seed, trainable, options.randomInit);
    default:
      throw new Error(`unknown backbone architecture ${(config as { arch: unknown }).arch}`);
  }
}

/** Stage names, channels and strides without building the network (for configs and UIs). */
export function backboneStages(config: BackboneConfig): readonly StageInfo[] {
  return config.arch === 'smallnet' ? smallnetStages(config.outChannels) : resnetStages(config.arch);
}

/**
 * The trainable variables that the tap of `stage` depends on: found by one small forward/backward
 * pass, so it works for any stage layout. A network run only to `stage` trains exactly these.
 */
export function variablesUpTo(backbone: Backbone, stage: string): Variable[] {
  const candidates = backbone.trainableVariables('all');
  const probe = tf.zeros([1, 32, 32, 3]) as Tensor4D;
  const { value, grads } = tf.variableGrads(
    () => tf.sum(backbone.apply(probe, { training: false, stages: [stage] })[stage]!) as Scalar,
    candidates,
  );
  const used = candidates.filter((v) => grads[v.name] !== undefined);
  tf.dispose([probe, value, ...Object.values(grads)]);
  return used;
}
