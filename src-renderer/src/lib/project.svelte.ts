// The open project as the UI knows it: summary counts and the keypoint schema.
import type { KeypointSchema, ProjectInfo } from '../../../src-shared/domain.js';
import type { Bridge } from './bridge.js';
import { sortedKeypoints } from './keypointOrder.js';

const EMPTY_SCHEMA: KeypointSchema = {
  keypoints: [],
  edges: [],
  normPair: null,
  flipProposals: [],
  rejectedFlipPairs: [],
  unpairedSides: [],
};

export class ProjectModel {
  info = $state<ProjectInfo | null>(null);
  schema = $state<KeypointSchema>(EMPTY_SCHEMA);
  ordered = $derived(sortedKeypoints(this.schema.keypoints));

  constructor(private readonly bridge: Bridge) {}

  async refreshInfo(): Promise<ProjectInfo> {
    const info = await this.bridge.call('project.info', {});
    this.info = info;
    return info;
  }

  async refreshSchema(): Promise<void> {
    this.schema = await this.bridge.call('schema.get', {});
  }

  /** Adopts the schema a schema-changing call answered with. */
  setSchema(schema: KeypointSchema): void {
    this.schema = schema;
  }

  close(): void {
    this.info = null;
    this.schema = EMPTY_SCHEMA;
  }
}
