/**
 * ResNet-18 / ResNet-50 in torchvision's layout (He et al. 2016, torchvision v1.5: the stride of a
 * bottleneck sits on its 3x3 conv): stem conv 7x7/2 + BN + ReLU, max pool 3x3/2, layer1..layer4.
 * Taps use paper 000's names: conv1 (stem, before the max pool), conv2_x (layer1) .. conv5_x
 * (layer4). For 96x96 input: 48, 24, 12, 6, 3 pixels (paper 000 Sec. 4.4).
 * No classifier: these are feature extractors.
 */
import { tf } from '../engine.js';
import type { Tensor4D } from '@tensorflow/tfjs';
import type { Backbone, ResNetArch, StageInfo } from './index.js';
import { batchNorm, conv2d, maxPoolAfterRelu, ParameterSet } from './layers.js';
import type { BatchNormParams, ConvParams } from './layers.js';
import { relu } from './nativeOps.js';
import { stagedBackbone } from './staged.js';
import type { Stage } from './staged.js';

export const RESNET_STAGES = ['conv1', 'conv2_x', 'conv3_x', 'conv4_x', 'conv5_x'] as const;

const SPECS: Record<ResNetArch, { blocks: [number, number, number, number]; bottleneck: boolean }> = {
  resnet18: { blocks: [2, 2, 2, 2], bottleneck: false },
  resnet50: { blocks: [3, 4, 6, 3], bottleneck: true },
};
const WIDTHS = [64, 128, 256, 512] as const;

export function resnetStages(arch: ResNetArch): StageInfo[] {
  const expansion = SPECS[arch].bottleneck ? 4 : 1;
  return [
    { name: 'conv1', channels: 64, stride: 2 },
    ...WIDTHS.map((w, i) => ({ name: RESNET_STAGES[i + 1]!, channels: w * expansion, stride: 4 * 2 ** i })),
  ];
}

interface Block {
  convs: ConvParams[];
  norms: BatchNormParams[];
  downsample: { conv: ConvParams; norm: BatchNormParams } | null;
}

function makeBlock(
  params: ParameterSet,
  name: string,
  stage: string,
  inC: number,
  width: number,
  stride: number,
  bottleneck: boolean,
): Block {
  const outC = bottleneck ? width * 4 : width;
  const convs: ConvParams[] = [];
  const norms: BatchNormParams[] = [];
  const add = (i: number, spec: { in: number; out: number; kernel: number; stride?: number; pad?: number }) => {
    convs.push(params.conv(`${name}.conv${i}`, stage, spec));
    norms.push(params.batchNorm(`${name}.bn${i}`, stage, spec.out));
  };
  if (bottleneck) {
    add(1, { in: inC, out: width, kernel: 1 });
    add(2, { in: width, out: width, kernel: 3, stride, pad: 1 });
    add(3, { in: width, out: outC, kernel: 1 });
  } else {
    add(1, { in: inC, out: width, kernel: 3, stride, pad: 1 });
    add(2, { in: width, out: width, kernel: 3, pad: 1 });
  }
  const downsample =
    stride !== 1 || inC !== outC
      ? {
          conv: params.conv(`${name}.downsample.0`, stage, { in: inC, out: outC, kernel: 1, stride }),
          norm: params.batchNorm(`${name}.downsample.1`, stage, outC),
        }
      : null;
  return { convs, norms, downsample };
}

function runBlock(x: Tensor4D, block: Block, training: boolean, groups: number): Tensor4D {
  let y = x;
  block.convs.forEach((conv, i) => {
    y = batchNorm(conv2d(y, conv), block.norms[i]!, training, groups);
    if (i < block.convs.length - 1) y = relu(y);
  });
  const shortcut = block.downsample
    ? batchNorm(conv2d(x, block.downsample.conv), block.downsample.norm, training, groups)
    : x;
  return relu(tf.add(y, shortcut));
}

export function createResNet(
  config: { arch: ResNetArch },
  seed: number,
  trainable: boolean,
  randomInit = true,
): Backbone {
  const { blocks, bottleneck } = SPECS[config.arch];
  const infos = resnetStages(config.arch);
  const params = new ParameterSet(seed, trainable, randomInit);

  const stemConv = params.conv('conv1', 'conv1', { in: 3, out: 64, kernel: 7, stride: 2, pad: 3 });
  const stemNorm = params.batchNorm('bn1', 'conv1', 64);
  const stages: Stage[] = [
    {
      info: infos[0]!,
      run: (x, training, groups) => relu(batchNorm(conv2d(x, stemConv), stemNorm, training, groups)),
    },
  ];

  let inC = 64;
  WIDTHS.forEach((width, i) => {
    const stageName = RESNET_STAGES[i + 1]!;
    const layer: Block[] = [];
    for (let b = 0; b < blocks[i]!; b++) {
      const stride = b === 0 && i > 0 ? 2 : 1;
      layer.push(makeBlock(params, `layer${i + 1}.${b}`, stageName, inC, width, stride, bottleneck));
      inC = bottleneck ? width * 4 : width;
    }
    stages.push({
      info: infos[i + 1]!,
      run: (x, training, groups) => {
        // conv2_x starts with the stem's max pool (torchvision puts it between bn1/relu and layer1).
        let y = i === 0 ? maxPoolAfterRelu(x, 3, 2, 1) : x;
        for (const block of layer) y = runBlock(y, block, training, groups);
        return y;
      },
    });
  });

  return stagedBackbone(config, stages, params);
}
