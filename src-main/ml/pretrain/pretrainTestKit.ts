// Small, fast stand-ins for tests of the pretraining methods: a narrow 3-conv backbone built from
// the backbones' own layers (same batch norm, same weight maps), and generated images whose
// identity survives crops and colour jitter (distinct layouts of shapes), so contrastive learning
// has something to learn in a few hundred CPU steps.
import { createRng } from '../../../src-shared/random.js';
import { DEFAULT_PHOTOMETRIC } from '../augment/photometric.js';
import type { Backbone, BackboneConfig, CreateOptions } from '../backbones/index.js';
import { batchNorm, conv2d, ParameterSet } from '../backbones/layers.js';
import { stagedBackbone, type Stage } from '../backbones/staged.js';
import { tf } from '../engine.js';
import type { Tensor4D } from '@tensorflow/tfjs';
import type { DenseContrastConfig } from './denseContrast.js';
import type { MocoConfig } from './mocoConfig.js';

/** Widths of the narrow test backbone's three stride-2 3x3 conv + BN + ReLU stages. */
const NARROW_WIDTHS = [16, 32, 64] as const;

/** A BackboneFactory for tests: ignores the config's architecture, builds the narrow network. */
export function narrowBackbone(config: BackboneConfig, options: CreateOptions): Backbone {
  const params = new ParameterSet(options.seed ?? 1, options.trainable ?? true);
  const stages: Stage[] = NARROW_WIDTHS.map((out, i) => {
    const name = `conv${i + 1}`;
    const conv = params.conv(name, name, {
      in: i === 0 ? 3 : NARROW_WIDTHS[i - 1]!,
      out,
      kernel: 3,
      stride: 2,
      pad: 1,
    });
    const norm = params.batchNorm(`bn${i + 1}`, name, out);
    return {
      info: { name, channels: out, stride: 2 ** (i + 1) },
      run: (x: Tensor4D, training: boolean, groups: number) =>
        tf.relu(batchNorm(conv2d(x, conv), norm, training, groups)),
    };
  });
  return stagedBackbone(config, stages, params);
}

/**
 * `count` RGB images [count, size, size, 3] in [0, 1], each the blend of two sinusoidal gratings
 * of its own random orientation and period (3-10 px) in two random colours. Orientation and
 * frequency survive crops, colour jitter and global pooling, so even a three-layer network can
 * learn to tell the images apart.
 */
export function gratingImages(count: number, size: number, seed: number): Tensor4D {
  const data = new Float32Array(count * size * size * 3);
  for (let n = 0; n < count; n++) {
    const rng = createRng(seed * 100_003 + n);
    const gratings = Array.from({ length: 2 }, () => {
      const angle = rng.uniform(0, Math.PI);
      const frequency = (2 * Math.PI) / rng.uniform(3, 10);
      return {
        fx: Math.cos(angle) * frequency,
        fy: Math.sin(angle) * frequency,
        phase: rng.uniform(0, 2 * Math.PI),
        colour: [rng.next(), rng.next(), rng.next()],
      };
    });
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const o = ((n * size + y) * size + x) * 3;
        for (const g of gratings) {
          const wave = 0.25 * (1 + Math.sin(g.fx * x + g.fy * y + g.phase));
          for (let c = 0; c < 3; c++) data[o + c]! += wave * g.colour[c]!;
        }
      }
    }
  }
  return tf.tensor4d(data, [count, size, size, 3]);
}

/**
 * MoCo settings for CI-sized runs of the narrow backbone on 40 px gratings cropped to 32 px:
 * queue and batch scaled down, key momentum 0.99 and temperature 0.2 so that a few hundred steps
 * show learning. Views keep the crop and brightness/contrast jitter; hue, saturation, grayscale,
 * blur and TPS are off: a three-layer network cannot become colour-invariant in minutes, and TPS
 * grids cost more than the network (the full pipeline runs in bench/pretrain-throughput.ts).
 */
export function smallMocoOverrides(): Partial<MocoConfig> {
  return {
    backbone: { arch: 'smallnet', outChannels: NARROW_WIDTHS[NARROW_WIDTHS.length - 1]! },
    inputSize: 32,
    batchSize: 16,
    bnSplits: 2,
    keyMomentum: 0.99,
    temperature: 0.2,
    learningRate: 0.06,
    warmupSteps: 20,
    cropMinScale: 0.5,
    photometric: { ...DEFAULT_PHOTOMETRIC, hue: 0, saturation: 0, grayscaleProb: 0, blurProb: 0 },
    tps: null,
  };
}

/**
 * Dense contrastive settings for CI-sized runs: the narrow backbone (conv1..conv3, strides 2/4/8)
 * trained to conv2 on 32 px views, a small head; colour jitter limited as for MoCo above.
 */
export function smallDenseContrastOverrides(
  overrides: Partial<DenseContrastConfig> = {},
): Partial<DenseContrastConfig> {
  return {
    backbone: { arch: 'smallnet', outChannels: NARROW_WIDTHS[NARROW_WIDTHS.length - 1]! },
    stage: 'conv2',
    hypercolumnStages: ['conv1', 'conv2'],
    inputSize: 32,
    batchSize: 8,
    pointsPerImage: 16,
    projectionHidden: 32,
    projectionDim: 16,
    warmupSteps: 10,
    photometric: { ...DEFAULT_PHOTOMETRIC, hue: 0, saturation: 0, grayscaleProb: 0, blurProb: 0 },
    ...overrides,
  };
}
