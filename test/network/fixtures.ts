// The captured `ip -j` outputs (see fixtures/capture.sh) as text, and edits of them for
// link kinds this kernel does not build (dummy, ipvlan).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const fixture = (name: string): string => readFileSync(fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url)), 'utf8');

/** The mixed-kinds netns with some links changed: rows matched by ifname, fields replaced. */
export function editedLinks(name: string, edits: Record<string, Record<string, unknown> | null>): string {
  const rows = JSON.parse(fixture(name)) as Record<string, unknown>[];
  return JSON.stringify(
    rows.flatMap((r) => {
      const edit = edits[r['ifname'] as string];
      if (edit === null) return [];
      return [edit ? { ...r, ...edit } : r];
    }),
  );
}
