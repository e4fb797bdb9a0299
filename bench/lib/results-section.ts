/**
 * A bench's own section of bench/RESULTS.md, replaced whole on each run (compare.js rewrites the
 * file whole: the benches that keep a section of their own run after it), and the lines that say
 * which machine the figures come from.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';

/** Puts `text` (starting with its `## heading` line) in place of the section so headed, or at the end. */
export function writeResultsSection(file: string, heading: string, text: string): void {
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const at = old.indexOf(heading);
  let next: string;
  if (at < 0) next = `${old.trimEnd()}\n\n${text}`;
  else {
    const end = old.indexOf('\n## ', at + heading.length);
    next = old.slice(0, at) + text + (end < 0 ? '' : old.slice(end + 1));
  }
  writeFileSync(file, next);
}

/** CPU model and count, hypervisor, memory, the data dir's file system and Node's version. */
export function machineLines(dataDir: string): string[] {
  const lscpu = execFileSync('lscpu', { encoding: 'utf8' }).split('\n').filter((l) => /^(CPU\(s\)|Model name|Hypervisor vendor):/.test(l));
  const fs = execFileSync('df', ['-hT', dataDir.replace(/\/[^/]*$/, '') || '/'], { encoding: 'utf8' }).split('\n')[1] ?? '';
  return [...lscpu, `Memory: ${Math.round(totalmem() / 2 ** 30)} GiB, ${cpus().length} cores`, `Data dir: ${fs}`, `Node ${process.version}`];
}

/** The 1, 5 and 15 minute load averages, as /proc/loadavg gives them. */
export function loadAverage(): string {
  return loadavg().map((l) => l.toFixed(2)).join(' ');
}

/**
 * The opening lines of a bench's section: its heading, when it ran, the command line as given,
 * the machine and the load averages around the run.
 */
export function sectionOpening(heading: string, bench: string, startedAt: Date, dataDir: string, loadBefore: string, loadAfter: string): string[] {
  const argv = process.argv.slice(2).join(' ');
  return [
    heading,
    '',
    `Written by \`bench/${bench}\` on ${startedAt.toISOString()} (run took ${((Date.now() - startedAt.getTime()) / 60_000).toFixed(1)} min).`,
    '',
    '```sh',
    `node dist-bench/bench/${bench}.js${argv ? ` ${argv}` : ''}`,
    '```',
    '',
    '```',
    ...machineLines(dataDir),
    `Load average (1, 5, 15 min): ${loadBefore} before, ${loadAfter} after`,
    '```',
  ];
}
