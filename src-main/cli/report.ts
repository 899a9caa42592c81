/**
 * `clearwb report`: the report of a scan (and a repair) as HTML, PDF or JSON, or the samples it
 * flags as CSV, in a new file (engine/jobs/report.ts).
 */
import { SCAN_REPORT_FORMATS, type ScanReportFormat } from '../contract/catalogue.js';
import { jobArgs } from '../contract/jobs.js';
import { withSchemas } from './args.js';
import type { Command } from './commands.js';

export const reportCommand: Command = {
  name: 'report',
  summary: 'write a scan\'s report (HTML, PDF or JSON, with the repair when given) or its flagged samples (CSV) to a new file',
  options: withSchemas(jobArgs.scanReport.shape, [
    { name: 'scan', type: 'string', value: 'SCAN.json', help: 'scan result from `clearwb scan`', required: true },
    { name: 'repair', type: 'string', value: 'REPAIRED_DIR', help: 'the repaired model folder `clearwb repair` wrote (its repair-report.json), or the NAME.EXT.repair-report.json beside a repaired model file: adds the before and after' },
    { name: 'format', type: 'string', value: SCAN_REPORT_FORMATS.join('|'), help: 'html, pdf or json: the whole report (verdict, each reported group with thumbnails and sources, per-class charts, repair, chain of custody, glossary); csv: one row per flagged sample, columns index,source,label,relabel,pocket (default csv)' },
    { name: 'out', type: 'string', value: 'FILE', help: 'write the report here (a new file; an existing one is never replaced)', required: true },
    { name: 'title', type: 'string', value: 'TEXT', help: 'the report\'s title (default "CLEAR report: DATASET")' },
    { name: 'model', type: 'string', value: 'MODEL_DIR', help: 'the scanned model, when it has moved since the scan (default: the folder the scan names)' },
    { name: 'data', type: 'string', value: 'SPEC', help: 'the scanned data, when it has moved since the scan (default: the spec the scan names)' },
    { name: 'limit', type: 'int', value: 'N', help: 'the --limit the scan used (default: as the scan recorded it)' },
    { name: 'data-seed', type: 'int', value: 'S', help: 'the --data-seed the scan used (default: as the scan recorded it)' },
  ]),
  async run(a, io) {
    const format = (a.format as ScanReportFormat | undefined) ?? 'csv';
    const r = await io.run('scanReport', {
      scan: a.scan as string, repair: a.repair as string | undefined, format, out: a.out as string, title: a.title as string | undefined,
      model: a.model as string | undefined, data: a.data as string | undefined, limit: a.limit as number | undefined, dataSeed: a.dataSeed as number | undefined,
      // The command line as typed, for the report's chain of custody.
      ...(format === 'csv' ? {} : { argv: ['clearwb', ...process.argv.slice(2)] }),
    });
    if (format === 'csv') {
      if (r.rows === 0) {
        io.say(`The scan flags no samples, so ${r.out} holds only the column names.`);
      } else {
        io.say(`Wrote ${r.rows} flagged sample${r.rows === 1 ? '' : 's'} from ${r.groups} reported group${r.groups === 1 ? '' : 's'} to ${r.out}.`);
        if (!r.withSources) io.say('The scan records no sources (it predates them, or its data did not say where samples came from), so the source column is empty.');
      }
      return r;
    }
    const what = r.groups ? `${r.groups} reported group${r.groups === 1 ? '' : 's'}, ${r.rows} flagged sample${r.rows === 1 ? '' : 's'}` : 'no reported group';
    io.say(`Wrote the ${format.toUpperCase()} report (${what}${r.pages ? `, ${r.pages} pages` : ''}) to ${r.out}.`);
    for (const note of r.notes) io.say(`Note: ${note}`);
    io.say(`SHA-256 of the report: ${r.sha256}`);
    return r;
  },
};
