/** `clearwb report`: a scan's flagged samples, one row each, in a new file (engine/jobs/report.ts). */
import { SCAN_REPORT_FORMATS } from '../contract/catalogue.js';
import { jobArgs } from '../contract/jobs.js';
import { withSchemas } from './args.js';
import type { Command } from './commands.js';

export const reportCommand: Command = {
  name: 'report',
  summary: 'write the samples a scan flags, with where each came from, to a new file',
  options: withSchemas(jobArgs.scanReport.shape, [
    { name: 'scan', type: 'string', value: 'SCAN.json', help: 'scan result from `clearwb scan`', required: true },
    { name: 'format', type: 'string', value: SCAN_REPORT_FORMATS.join('|'), help: 'csv: one row per flagged sample, columns index,source,label,relabel,pocket (default csv)' },
    { name: 'out', type: 'string', value: 'FILE', help: 'write the report here (a new file; an existing one is never replaced)', required: true },
  ]),
  async run(a, io) {
    const r = await io.run('scanReport', { scan: a.scan as string, format: a.format as 'csv' | undefined, out: a.out as string });
    if (r.rows === 0) {
      io.say(`The scan flags no samples, so ${r.out} holds only the column names.`);
    } else {
      io.say(`Wrote ${r.rows} flagged sample${r.rows === 1 ? '' : 's'} from ${r.groups} reported group${r.groups === 1 ? '' : 's'} to ${r.out}.`);
      if (!r.withSources) io.say('The scan records no sources (it predates them, or its data did not say where samples came from), so the source column is empty.');
    }
    return r;
  },
};
