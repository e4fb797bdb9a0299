/**
 * `mkdir -p` that reports why a directory could not be made. Node's recursive mkdir answers
 * ENOENT when the first missing directory is on a read-only file system (it looks the path up
 * after the EROFS and reports that instead), so the user would hunt for a missing parent
 * rather than learn that the file system is read-only. Here each missing directory is made
 * on its own, outermost first, and its own error is thrown.
 */
import fs from 'node:fs';
import path from 'node:path';

function alreadyThere(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'EEXIST';
}

export function createDirSync(dir: string): void {
  const missing: string[] = [];
  for (let d = path.resolve(dir); !fs.existsSync(d); d = path.dirname(d)) missing.push(d);
  for (const d of missing.reverse()) {
    try {
      fs.mkdirSync(d);
    } catch (err) {
      if (!alreadyThere(err)) throw err;
    }
  }
}

/** Resolves with the outermost directory it made (as a recursive mkdir does), or undefined. */
export async function createDir(dir: string): Promise<string | undefined> {
  const exists = (d: string): Promise<boolean> => fs.promises.access(d).then(() => true, () => false);
  const missing: string[] = [];
  for (let d = path.resolve(dir); !(await exists(d)); d = path.dirname(d)) missing.push(d);
  missing.reverse();
  for (const d of missing) {
    await fs.promises.mkdir(d).catch((err: unknown) => {
      if (!alreadyThere(err)) throw err;
    });
  }
  return missing[0];
}
