import * as fs from 'fs';
import * as path from 'path';
import { describe, expect, it } from 'vitest';
import { readContrast } from '../../src/reproduce/contrast';
import { renderMarkdown, type ReproductionReport } from '../../src/reproduce/report';
import { expectReportRecomputes } from './report-arithmetic';

const REPORTS = path.join(__dirname, '..', '..', 'reports');
// every reproduction report: each profile's in its default domain and those of other domains (standard-emoji)
const profiles = fs
  .readdirSync(REPORTS)
  .filter((f) => /^(quick|standard|full)(-[\w-]+)?\.json$/.test(f) && !f.includes('estimate'))
  .map((f) => f.replace(/\.json$/, ''));

describe('committed reproduction reports', () => {
  it('include the quick and standard profiles', () => expect(profiles).toEqual(expect.arrayContaining(['quick', 'standard'])));

  for (const profile of profiles) {
    it(`reports/${profile}.json: every interval, paired difference and the headline recompute from its per-episode counts`, () => {
      const report = JSON.parse(fs.readFileSync(path.join(REPORTS, `${profile}.json`), 'utf8')) as ReproductionReport;
      expectReportRecomputes(report);
    });

    const committed = JSON.parse(fs.readFileSync(path.join(REPORTS, `${profile}.json`), 'utf8')) as ReproductionReport;
    if (committed.contrast)
      it(`reports/${profile}.json: its contrast rows hold what the files they name hold now`, () => {
        const rows = committed.contrast!.rows;
        expect(rows).toEqual(readContrast(rows, path.join(REPORTS, '..')));
      });

    it(`reports/${profile}.md is the rendering of reports/${profile}.json by the current code`, () => {
      const report = JSON.parse(fs.readFileSync(path.join(REPORTS, `${profile}.json`), 'utf8')) as ReproductionReport;
      expect(fs.readFileSync(path.join(REPORTS, `${profile}.md`), 'utf8')).toBe(renderMarkdown(report));
    });
  }

  it('every report under reports/ names the committed command that writes it', () => {
    const scripts = Object.keys(
      JSON.parse(fs.readFileSync(path.join(REPORTS, '..', 'package.json'), 'utf8')).scripts as Record<string, string>,
    );
    const markdown = fs.readdirSync(REPORTS, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.md'));
    for (const file of markdown) {
      const text = fs.readFileSync(path.join(REPORTS, file), 'utf8');
      const commands = [...text.matchAll(/`npm run ([\w:-]+)/g)].map((m) => m[1]);
      expect(commands.length, `${file} names no \`npm run …\` command`).toBeGreaterThan(0);
      for (const command of commands) expect(scripts, `${file}: npm run ${command}`).toContain(command);
      expect(text, `${file} has a placeholder`).not.toMatch(/<[A-Z_]+>|\bTODO\b/);
    }
  });
});
