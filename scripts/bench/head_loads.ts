// Benchmark 9 on Deno and Bun (scripts/bench/_head_loads.ts; Node runs it in delta.ts, with a `libsql`
// Database as one more kind): a waiting or interrupted head's load with delta payloads against a whole
// checkpoint's, in memory, on a libSQL file through @libsql/client and on a KV file.
import { args, quick, Report } from "./_harness.ts";
import { tempDir } from "./_stores.ts";
import { headLoads } from "./_head_loads.ts";

const report = new Report();
const dir = await tempDir();
let files = 0;
await headLoads({ report, newPath: (name) => `${dir.path}/${name}-${++files}.db`, quick: quick(args()) });
await dir.dispose();
report.print();
