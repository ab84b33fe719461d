// Types of scripts/import_cycles.mjs, for the TypeScript test that calls it.
export function importsOf(source: string): string[];
export function findImportCycles(root?: string, paths?: string[]): string[][];
