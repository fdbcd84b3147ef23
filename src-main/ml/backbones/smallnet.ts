/**
 * SmallNet, the landmark detector of paper 004 Sec. 4.1: six convolutions with 20, 48, 64, 80,
 * 256 and K filters, each of the first five followed by batch norm and ReLU, one 2x2/2 max pool
 * after conv1, so the output is H/2 x W/2 x K heatmap logits (taps conv1 .. conv6).
 *
 * The paper gives no kernel sizes: these (5, 5, 5, 3, 3, 1) are those of the public DVE SmallNet
 * it descends from, without that code's dilations (tfjs has no gradient for dilated convs).
 * conv6 stays linear: its outputs are the logits of a spatial softmax, and a ReLU there would
 * clip every negative logit to the same value.
 */
import { tf } from '../engine.js';
import type { Backbone, StageInfo } from './index.js';
import { batchNorm, conv2d, ParameterSet } from './layers.js';
import { relu } from './nativeOps.js';
import { stagedBackbone } from './staged.js';
import type { Stage } from './staged.js';

export const SMALLNET_STAGES = ['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'conv6'] as const;
const WIDTHS = [20, 48, 64, 80, 256] as const;
const KERNELS = [5, 5, 5, 3, 3, 1] as const;

export function smallnetStages(outChannels: number): StageInfo[] {
  return SMALLNET_STAGES.map((name, i) => ({
    name,
    channels: i < 5 ? WIDTHS[i]! : outChannels,
    stride: i === 0 ? 1 : 2,
  }));
}

export function createSmallNet(
  config: { arch: 'smallnet'; outChannels: number },
  seed: number,
  trainable: boolean,
  randomInit = true,
): Backbone {
  const k = config.outChannels;
  if (!Number.isInteger(k) || k < 1)
    throw new Error(`SmallNet needs outChannels >= 1 (the number of landmarks), got ${k}`);
  const params = new ParameterSet(seed, trainable, randomInit);
  const infos = smallnetStages(k);
  const stages: Stage[] = infos.map((info, i) => {
    const inC = i === 0 ? 3 : WIDTHS[i - 1]!;
    const kernel = KERNELS[i]!;
    const conv = params.conv(info.name, info.name, {
      in: inC,
      out: info.channels,
      kernel,
      pad: (kernel - 1) / 2,
      bias: i === 5,
    });
    if (i === 5) return { info, run: (x) => conv2d(x, conv) };
    const norm = params.batchNorm(`bn${i + 1}`, info.name, info.channels);
    return {
      info,
      run: (x, training, groups) => {
        const y = relu(batchNorm(conv2d(x, conv), norm, training, groups));
        return i === 0 ? tf.maxPool(y, 2, 2, 'valid') : y;
      },
    };
  });
  return stagedBackbone(config, stages, params);
}
