// The label-file format flags shared by import and export: one `--<format> <file>` flag per
// entry of IMPORT_FORMATS (export also takes EXPORT_FORMATS' provenance formats), so a format
// added to the domain appears on the commands.
import { EXPORT_FORMATS, IMPORT_FORMATS } from '../../../src-shared/domain.js';
import { UsageError, type CommandArgs, type OptionSpec } from '../command.js';

const DESCRIPTIONS: Record<string, string> = {
  dlc: 'DeepLabCut CSV (CollectedData_<scorer>.csv)',
  coco: 'COCO keypoints JSON',
  csv: 'plain CSV, one row per point (image, keypoint, x, y, visibility)',
  labels: 'labels.json {names, items}',
  'provenance-csv': 'provenance CSV, one row per label (image, keypoint, predicted x/y, final x/y, source, run)',
  'provenance-json': 'provenance JSON, the same rows as provenance-csv',
};

/** The formats of each verb: import reads label files, export also writes provenance. */
const FORMATS = { from: IMPORT_FORMATS, to: EXPORT_FORMATS } as const;
type FormatOf<V extends keyof typeof FORMATS> = (typeof FORMATS)[V][number];

export function formatFlags(verb: keyof typeof FORMATS): Record<string, OptionSpec> {
  return Object.fromEntries(
    FORMATS[verb].map((format) => [
      format,
      { type: 'string', value: '<file>', description: `${verb} ${DESCRIPTIONS[format] ?? `a ${format} file`}` },
    ]),
  );
}

/** The one format flag given; a usage error when none or several are. */
export function chosenFormat<V extends keyof typeof FORMATS>(
  args: CommandArgs,
  command: string,
  verb: V,
): { format: FormatOf<V>; file: string } {
  const formats = FORMATS[verb] as readonly FormatOf<V>[];
  const given = formats.filter((format) => typeof args.options[format] === 'string');
  const flags = formats.map((f) => `--${f}`).join(', ');
  if (given.length !== 1) {
    throw new UsageError(
      given.length === 0 ? `Name the label file with one of ${flags}.` : `Give only one of ${flags}.`,
      command,
    );
  }
  const format = given[0]!;
  return { format, file: args.options[format] as string };
}
