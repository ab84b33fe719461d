// A worker bundled for workerd as wrangler would (esbuild, ESM, the workerd conditions), for the benchmarks
// that serve one through Miniflare (Node only: esbuild is the main install's).
import { build } from "esbuild";

/**
 * The bundle of a worker: from a file's path, or from its source (`contents`, imports resolved from
 * `resolveDir`); `minify` as wrangler's deploy build does.
 */
export async function bundleForWorkerd(
  entry: string | { contents: string; resolveDir: string },
  minify = false,
): Promise<string> {
  const result = await build({
    ...typeof entry === "string"
      ? { entryPoints: [entry] }
      : { stdin: { ...entry, sourcefile: "worker.ts", loader: "ts" as const } },
    bundle: true,
    write: false,
    minify,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["browser", "module", "main"],
    legalComments: "none",
    logLevel: "silent",
  });
  return result.outputFiles[0].text;
}
