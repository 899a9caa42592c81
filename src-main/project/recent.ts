/** The recently opened projects, newest first, kept in the user's settings folder. */
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import type { RecentProject } from '../contract/app-calls.js';
import { writeFileAtomic } from './files.js';

const MAX_RECENT = 10;
const RecentFile = z.array(z.object({ dir: z.string(), name: z.string(), openedAt: z.string() })).max(100);

export class RecentProjects {
  constructor(private readonly file: string) {}

  list(): RecentProject[] {
    if (!existsSync(this.file)) return [];
    try {
      const parsed = RecentFile.safeParse(JSON.parse(readFileSync(this.file, 'utf8')));
      // A damaged list is not worth an error dialog: start a new one.
      return parsed.success ? parsed.data.filter((r) => existsSync(r.dir)) : [];
    } catch {
      return [];
    }
  }

  /** Forgets every recent project (File › Open Recent › Clear Menu); the projects stay on disk. */
  clear(): void {
    writeFileAtomic(this.file, '[]\n');
  }

  add(dir: string, name: string): void {
    const list = [{ dir, name, openedAt: new Date().toISOString() }, ...this.list().filter((r) => r.dir !== dir)].slice(0, MAX_RECENT);
    writeFileAtomic(this.file, JSON.stringify(list, null, 2) + '\n');
  }
}
