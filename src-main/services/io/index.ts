// Label file formats: pure parsers and formatters over the neutral LabelSet (docs/formats.md).
// Import: parse* (throws ImportFormatError before anything is applied) -> matchImageRefs ->
// clampCrop each crop to its image (DeepLabCut and labels.json carry no image sizes) -> apply.
// Export: format* (COCO needs every file's size).
export type { ImageSize, LabeledPoint, LabelSet, LabelSetItem } from './labelSet.js';
export { ImportFormatError } from './labelSet.js';
export { clampCrop, INSTANCE_CROP } from './instanceCrop.js';
export { formatDlcCsv, parseDlcCsv } from './dlc.js';
export type { DlcParseOptions, DlcFormatOptions } from './dlc.js';
export { formatCoco, parseCocoKeypoints } from './coco.js';
export type { CocoFormatOptions } from './coco.js';
export { formatPlainCsv, parsePlainCsv } from './plainCsv.js';
export { formatLabelsJson, parseLabelsJson } from './labelsJson.js';
export { matchImageRefs } from './matchImages.js';
export type { ImageRefMatch, UnmatchedRef } from './matchImages.js';
export { formatProvenanceCsv, formatProvenanceJson } from './provenance.js';
export type { ProvenanceRow } from './provenance.js';
