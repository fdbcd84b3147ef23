// The label-file format flags shared by import and export: one `--<format> <file>` flag per
// entry of IMPORT_FORMATS, so a format added to the domain appears on both commands.
import { IMPORT_FORMATS, type ImportFormat } from '../../../src-shared/domain.js';
import { UsageError, type CommandArgs, type OptionSpec } from '../command.js';

const DESCRIPTIONS: Record<string, string> = {
  dlc: 'DeepLabCut CSV (CollectedData_<scorer>.csv)',
  coco: 'COCO keypoints JSON',
  csv: 'plain CSV, one row per point (image, keypoint, x, y, visibility)',
  labels: 'labels.json {names, items}',
};

export function formatFlags(verb: 'from' | 'to'): Record<string, OptionSpec> {
  return Object.fromEntries(
    IMPORT_FORMATS.map((format) => [
      format,
      { type: 'string', value: '<file>', description: `${verb} ${DESCRIPTIONS[format] ?? `a ${format} file`}` },
    ]),
  );
}

/** The one format flag given; a usage error when none or several are. */
export function chosenFormat(args: CommandArgs, command: string): { format: ImportFormat; file: string } {
  const given = IMPORT_FORMATS.filter((format) => typeof args.options[format] === 'string');
  const flags = IMPORT_FORMATS.map((f) => `--${f}`).join(', ');
  if (given.length !== 1) {
    throw new UsageError(
      given.length === 0 ? `Name the label file with one of ${flags}.` : `Give only one of ${flags}.`,
      command,
    );
  }
  const format = given[0]!;
  return { format, file: args.options[format] as string };
}
