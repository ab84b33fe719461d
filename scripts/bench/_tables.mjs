// Turns the figures of every benchmark process into the Markdown tables `npm run bench` prints (and the
// README quotes), the ratios, and where each goal of the benchmarks issue stands.

const RUNTIMES = ["node", "deno", "bun"];
const SHAPES = [["loop", "loop: 1 executor × 1,000 supersteps"], [
  "chain1000",
  "chain of 1,000 executors",
], [
  "chain100",
  "chain of 100 executors",
]];
const SIZES = ["1 KiB", "64 KiB", "1 MiB"];
const HISTORY = ["10", "1,000", "100,000"];
const STORES = [["memory", "memory"], ["libsql", "libSQL (file, WAL)"], [
  "kv",
  "KV (file)",
]];

/** @param {object[]} figures */
export function renderTables(figures, { date, command, machine, quick }) {
  const find = (bench, name, subject, runtime = "node") =>
    figures.find((f) =>
      f.bench === bench && f.name === name && f.subject === subject &&
      f.runtime === runtime
    );
  const ratios = {};
  const ratio = (key, a, b) => {
    if (!a || !b || b.median === 0) return "—";
    const value = a.median / b.median;
    ratios[key] = value;
    return `${value >= 10 ? value.toFixed(0) : value.toFixed(2)}×`;
  };
  const out = [];
  const table = (title, head, rows, note) => {
    out.push(`**${title}**`, "");
    out.push(
      `| ${head.join(" | ")} |`,
      `| ${head.map((_, i) => (i === 0 ? "---" : "---:")).join(" | ")} |`,
    );
    for (const row of rows) out.push(`| ${row.join(" | ")} |`);
    if (note) out.push("", note);
    out.push("");
  };

  out.push(
    `Command: \`${command}\` · ${date.slice(0, 10)} · ${machine.cpus} cores (${machine.cpu ?? "?"}), ` +
      `Node ${machine.node}, ${machine.deno.replace(/^deno (\S+).*$/, "Deno $1")}, Bun ${machine.bun}, ` +
      `LangGraph.js ${machine.langgraph} · load average ${machine.loadAverage.min.toFixed(1)}–` +
      `${machine.loadAverage.max.toFixed(1)}` +
      (quick ? " · **--quick: not meaningful**" : ""),
    "",
    "Medians of the timed repetitions after warm-up; ± is the median absolute deviation as a share of " +
      "the median. Ratios divide medians: above 1 means the peer (or the limit) takes longer.",
    "",
  );

  // 1
  const rows1 = [];
  for (const [key, label] of SHAPES) {
    for (const mode of ["memory checkpoints", "no checkpoints"]) {
      const name = `${key} · ${mode}`;
      const ours = RUNTIMES.map((rt) => find("1", name, "superstep", rt));
      const peer = find("1", name, "langgraph");
      const floorRatios = mode === "memory checkpoints"
        ? RUNTIMES.map((rt) =>
          ratio(
            `1 ${key} ÷ floor ${rt}`,
            find("1", name, "superstep", rt),
            find("1", "floor", "floor", rt),
          )
        )
          .join(" / ")
        : "";
      rows1.push([
        `${label}, ${mode}`,
        ...ours.map(cell),
        cell(peer),
        ratio(`1 ${key} ${mode} langgraph ÷ superstep`, peer, ours[0]),
        floorRatios,
      ]);
    }
  }
  rows1.push([
    "floor: await + encode + Map.set",
    ...RUNTIMES.map((rt) => cell(find("1", "floor", "floor", rt))),
    "",
    "",
    "",
  ]);
  // 1, cold
  const rows1cold = [
    [
      "cold · loop, memory checkpoints",
      "loop: 1 executor × 1,000 supersteps, memory checkpoints, runs 1–3",
      "loop",
    ],
    [
      "cold · a new workflow per run",
      "a new workflow per run (loop of 10 supersteps, memory checkpoints) × 300",
      "request",
    ],
  ].map(([name, label, key]) => {
    const ours = RUNTIMES.map((rt) => find("1", name, "superstep", rt));
    const peer = find("1", name, "langgraph");
    return [
      label,
      ...ours.map(cell),
      cell(peer),
      ratio(`1 cold ${key} langgraph ÷ superstep`, peer, ours[0]),
    ];
  });
  table(
    "1 · Cold: the first 3,000 supersteps of a fresh process, per superstep",
    [
      "",
      "Superstep Node",
      "Superstep Deno",
      "Superstep Bun",
      "LangGraph.js Node",
      "LangGraph ÷ Superstep",
    ],
    rows1cold,
    `Each figure is the median over ${
      figures.find((f) => f.name === "cold · loop, memory checkpoints")?.extra
        ?.processes ?? "?"
    } fresh processes per library and runtime, started in turns (± spreads across processes); the time ` +
      "runs from the first run's start, after the imports and the graph's build (a new workflow per run " +
      "includes each build). LangGraph.js builds and compiles the same graphs.",
  );

  table("1 · Cost per superstep, warm (after 10 untimed runs)", [
    "shape",
    "Superstep Node",
    "Superstep Deno",
    "Superstep Bun",
    "LangGraph.js Node",
    "LangGraph ÷ Superstep",
    "Superstep ÷ floor (Node / Deno / Bun)",
  ], rows1);

  // 2
  const rows2 = [
    ["fan1000", "fan", "fan-out to 1,000 executors, fan-in"],
    [
      "map1000",
      "map",
      "map over 1,000 items (concurrency 8 + addCollect; LangGraph.js: Send)",
    ],
  ].flatMap(([key, short, label]) =>
    ["memory checkpoints", "no checkpoints"].map((mode) => {
      const name = `${key} · ${mode}`;
      const ours = RUNTIMES.map((rt) => find("2", name, "superstep", rt));
      const peer = find("2", name, "langgraph");
      return [
        `${label}, ${mode}`,
        ...ours.map(cell),
        cell(peer),
        ratio(`2 ${short} ${mode} langgraph ÷ superstep`, peer, ours[0]),
      ];
    })
  );
  table("2 · Fan-out and fan-in, and map-reduce, over 1,000 (one run)", [
    "",
    "Superstep Node",
    "Superstep Deno",
    "Superstep Bun",
    "LangGraph.js Node",
    "LangGraph ÷ Superstep",
  ], rows2);

  // 3
  table(
    "3 · Durable writes, per checkpoint (SQLite file, WAL, synchronous=FULL), Node",
    [
      "state",
      "encode only",
      "libSQL adapter save (whole payloads)",
      "raw @libsql/client insert",
      "save ÷ raw",
    ],
    SIZES.map((size) => {
      const save = find("3", `save · ${size} state`, "superstep libsql");
      const raw = find("3", `save · ${size} state`, "raw libsql");
      return [
        size,
        cell(find("3", `save · ${size} state`, "encode only")),
        cell(save),
        cell(raw),
        ratio(`3 save ÷ raw ${size}`, save, raw),
      ];
    }),
  );
  table(
    "3 · The same loop end to end, per superstep, at equal synchronous settings (SQLite file, WAL), Node",
    [
      "state",
      "Superstep + libSQL, FULL",
      "LangGraph + SqliteSaver, FULL",
      "LangGraph ÷ Superstep, FULL",
      "Superstep + libSQL, NORMAL",
      "LangGraph + SqliteSaver, NORMAL",
      "LangGraph ÷ Superstep, NORMAL",
    ],
    SIZES.map((size) => {
      const row = [size];
      for (const level of ["FULL", "NORMAL"]) {
        const name = `workflow · ${size} state · synchronous=${level}`;
        const ours = find("3", name, "superstep libsql");
        const peer = find("3", name, "langgraph sqlite");
        row.push(
          cell(ours),
          cell(peer),
          ratio(
            `3 workflow langgraph ÷ superstep ${size} ${level}`,
            peer,
            ours,
          ),
        );
      }
      return row;
    }),
    "`PRAGMA synchronous` is set on both sides' connections and checked after every repetition. Left alone " +
      "they differ: libSQL keeps SQLite's FULL, better-sqlite3 (SqliteSaver) is built with " +
      "SQLITE_DEFAULT_WAL_SYNCHRONOUS=1 and runs NORMAL on every connection to an existing WAL file.",
  );

  // 3 on PostgreSQL
  table(
    "3 · Durable writes, per checkpoint, PostgreSQL (a local server, fsync on, synchronous_commit on), Node",
    [
      "state",
      "encode only",
      "Postgres adapter save",
      "raw insert, text",
      "save ÷ raw",
      "raw insert, jsonb",
      "raw insert, bytea",
      "Superstep + Postgres, per superstep",
      "LangGraph + PostgresSaver, per superstep",
      "LangGraph ÷ Superstep",
    ],
    SIZES.map((size) => {
      const name = `save · ${size} state`;
      const save = find("3pg", name, "superstep postgres");
      const raw = find("3pg", name, "raw postgres text");
      const ours = find(
        "3pg",
        `workflow · ${size} state`,
        "superstep postgres",
      );
      const peer = find(
        "3pg",
        `workflow · ${size} state`,
        "langgraph postgres",
      );
      return [
        size,
        cell(find("3pg", name, "encode only")),
        cell(save),
        cell(raw),
        ratio(`3pg save ÷ raw ${size}`, save, raw),
        cell(find("3pg", name, "raw postgres jsonb")),
        cell(find("3pg", name, "raw postgres bytea")),
        cell(ours),
        cell(peer),
        ratio(`3pg workflow langgraph ÷ superstep ${size}`, peer, ours),
      ];
    }),
  );

  // 4 and 5
  const rows4 = HISTORY.map((
    n,
  ) => [
    `${n} checkpoints`,
    ...STORES.map(([kind]) => cell(find("4", `resume head · ${n} checkpoints`, kind))),
  ]);
  rows4.push([
    "100,000 ÷ 10",
    ...STORES.map(([kind]) =>
      ratio(
        `4 resume 100,000 ÷ 10 ${kind}`,
        find("4", "resume head · 100,000 checkpoints", kind),
        find("4", "resume head · 10 checkpoints", kind),
      )
    ),
  ]);
  rows4.push([
    "5 · lineage, depth 10,000",
    ...STORES.map(([kind]) => cell(find("5", "lineage · depth 10,000", kind))),
  ]);
  table(
    "4, 5 · Resume from a session's head (load + restore) against history length; lineage (Node)",
    [
      "",
      ...STORES.map(([, label]) => label),
    ],
    rows4,
  );

  // 6
  const rows6 = [];
  for (const op of ["save", "load"]) {
    for (const size of SIZES) {
      const name = `${op} · ${size} checkpoint`;
      const row = [`${op} ${size}`];
      for (const rt of ["node", "deno"]) {
        const ours = find("6", name, "superstep kv", rt);
        const raw = find("6", name, "raw kv", rt);
        row.push(
          cell(ours),
          cell(raw),
          ratio(`6 ${op} ${size} ÷ raw ${rt}`, ours, raw),
        );
      }
      rows6.push(row);
    }
  }
  table("6 · KV adapter against raw KV of the same bytes (file store)", [
    "",
    "adapter (Node, @deno/kv)",
    "raw",
    "÷ raw",
    "adapter (Deno.openKv)",
    "raw",
    "÷ raw",
  ], rows6);

  // 7
  const rows7 = ["database", "encoded"].map((what) => {
    const name = figures.find((f) => f.bench === "7" && f.name.startsWith(`${what} bytes`))?.name;
    const ours = name && find("7", name, "superstep libsql");
    const peer = name && find("7", name, "langgraph sqlite");
    return [
      name ?? what,
      bytes(ours),
      bytes(peer),
      ratio(`7 ${what} langgraph ÷ superstep`, peer, ours),
    ];
  });
  table("7 · Storage growth (SQLite files)", [
    "",
    "Superstep + libSQL",
    "LangGraph + SqliteSaver",
    "LangGraph ÷ Superstep",
  ], rows7);

  // 7 on PostgreSQL
  const rows7pg = ["database", "encoded"].map((what) => {
    const name = figures.find((f) => f.bench === "7pg" && f.name.startsWith(`${what} bytes`))?.name;
    const ours = name && find("7pg", name, "superstep postgres");
    const peer = name && find("7pg", name, "langgraph postgres");
    return [
      name ?? what,
      bytes(ours),
      bytes(peer),
      ratio(`7pg ${what} langgraph ÷ superstep`, peer, ours),
    ];
  });
  table(
    "7 · Storage growth (PostgreSQL: tables with TOAST and indexes, after VACUUM)",
    [
      "",
      "Superstep + Postgres",
      "LangGraph + PostgresSaver",
      "LangGraph ÷ Superstep",
    ],
    rows7pg,
  );

  // 7d, 9, 3d: delta payloads (scripts/bench/delta.ts)
  const growthName = figures.find((f) => f.bench === "7d" && f.name.startsWith("database bytes"))?.name;
  if (growthName) {
    const deltas = find("7d", growthName, "superstep libsql deltas");
    const whole = find("7d", growthName, "superstep libsql whole");
    const peer = find("7d", growthName, "langgraph sqlite");
    const envelopeName = figures.find((f) => f.bench === "7d" && f.name.startsWith("envelope"))?.name;
    const variable = find(
      "7d",
      "variable bytes ÷ changed bytes",
      "superstep libsql deltas",
    );
    if (variable) ratios["7d variable ÷ changed"] = variable.median;
    table(
      "7 · Storage growth with delta payloads (SQLite files, WAL folded in)",
      [
        "",
        "Superstep + libSQL, deltas",
        "Superstep + libSQL, whole",
        "LangGraph + SqliteSaver",
        "LangGraph ÷ Superstep (deltas)",
        "whole ÷ deltas",
      ],
      [
        [
          growthName,
          bytes(deltas),
          bytes(whole),
          bytes(peer),
          ratio("7d langgraph ÷ superstep deltas", peer, deltas),
          ratio("7d whole ÷ deltas", whole, deltas),
        ],
        [
          envelopeName ?? "envelope",
          bytes(
            envelopeName && find("7d", envelopeName, "superstep libsql deltas"),
          ),
          "",
          "",
          "",
          "",
        ],
        [
          "variable bytes ÷ changed bytes",
          variable ? `${variable.median.toFixed(2)}×` : "—",
          "",
          "",
          "",
          "",
        ],
      ],
    );
  }
  const loads = [
    ...new Set(figures.filter((f) => f.bench === "9").map((f) => f.name)),
  ];
  // Benchmark 9's rows: per load case, per runtime shown, per kind measured there (`label`: its name).
  const headLoadRows = (label, runtimes = [["node", undefined]]) =>
    loads.flatMap((name) =>
      runtimes.flatMap(([runtime, shown]) =>
        Object.keys(label).filter((kind) => find("9", name, `${kind} deltas`, runtime)).map((kind) => {
          const deltas = find("9", name, `${kind} deltas`, runtime);
          const whole = find("9", name, `${kind} whole`, runtime);
          const key = runtime === "node" ? `9 ${kind} ${name}` : `9 ${runtime} ${kind} ${name}`;
          return [
            name,
            ...shown === undefined ? [] : [shown],
            label[kind],
            cell(deltas),
            cell(whole),
            ratio(`${key} deltas ÷ whole`, deltas, whole),
          ];
        })
      )
    );
  const headLoadTable = (title, runtimeColumn, rows) => {
    if (rows.length === 0) return;
    table(
      title,
      ["", ...runtimeColumn ? ["runtime"] : [], "storage", "deltas", "whole", "deltas ÷ whole"],
      rows,
    );
  };
  headLoadTable(
    "9 · Head load through a fresh storage: a delta chain (and a resume copy) against a whole checkpoint (Node)",
    false,
    headLoadRows({
      memory: "memory",
      libsql: "libSQL file",
      "libsql database": "libSQL file, Database",
      kv: "KV file",
    }),
  );
  // The same on Deno and Bun (scripts/bench/head_loads.ts: no `libsql` Database there).
  headLoadTable(
    "9 · The same head loads on Deno and Bun",
    true,
    headLoadRows({ memory: "memory", libsql: "libSQL file", kv: "KV file" }, [["deno", "Deno"], [
      "bun",
      "Bun",
    ]]),
  );
  // In workerd (scripts/bench/head_loads_workerd.ts, Miniflare): D1 and Durable Objects.
  headLoadTable(
    "9 · The same head loads in workerd: D1 and SQLite Durable Objects (Miniflare)",
    false,
    headLoadRows({
      d1: "D1",
      "durable object": "Durable Object, inside",
      "checkpoint object": "Durable Object, from a Worker",
    }),
  );
  const saveName = figures.find((f) => f.bench === "3d")?.name;
  if (saveName) {
    const deltas = find("3d", saveName, "deltas");
    const whole = find("3d", saveName, "whole");
    table("3 · A small save with and without delta payloads (Node)", [
      "",
      "deltas",
      "whole",
      "deltas ÷ whole",
    ], [[
      saveName,
      cell(deltas),
      cell(whole),
      ratio("3d save deltas ÷ whole", deltas, whole),
    ]]);
  }

  // 8
  const rows8 = [
    "peak RSS · benchmark 1, memory checkpoints",
    "RSS before the runs",
    "peak RSS − RSS before the runs",
  ].map((name) => {
    const ours = find("8", name, "superstep");
    const peer = find("8", name, "langgraph");
    return [
      name,
      mib(ours),
      mib(peer),
      ratio(`8 ${name} langgraph ÷ superstep`, peer, ours),
    ];
  });
  table("8 · Memory (Node, one process per library)", [
    "",
    "Superstep",
    "LangGraph.js",
    "LangGraph ÷ Superstep",
  ], rows8);

  // H
  const httpName = "POST /workflows/wordlen/runs · 20 connections";
  const bareRate = find("H", httpName, "bare hono");
  const bareCpu = find("H", "server CPU per request", "bare hono");
  const rowsH = [
    ["bare hono", "bare Hono route, same answer computed inline"],
    ["superstep memory", "createWorkflowApp, MemoryCheckpointStorage"],
    ["superstep libsql", "createWorkflowApp, libSQL file (`npm start`)"],
  ].map(([subject, label]) => {
    const rate = find("H", httpName, subject);
    const cpu = find("H", "server CPU per request", subject);
    return [
      label,
      rate ? `${Math.round(rate.median).toLocaleString("en-US")} ±${spread(rate)}%` : "—",
      ratio(`H ${subject} bare ÷ rate`, bareRate, rate),
      cell(cpu),
      ratio(`H ${subject} cpu ÷ bare`, cpu, bareCpu),
    ];
  });
  const disk = find(
    "H",
    "fsyncs per second of the disk (4 KiB page, fdatasync)",
    "disk",
  );
  table(
    "HTTP · a workflow per request: POST /workflows/wordlen/runs, 20 connections (autocannon), Node",
    [
      "server",
      "requests/s",
      "bare ÷ this (req/s)",
      "server CPU per request",
      "this ÷ bare (CPU)",
    ],
    rowsH,
    `The disk's own fdatasyncs per second (one 4 KiB page rewritten): ${
      disk ? Math.round(disk.median).toLocaleString("en-US") : "—"
    }. Each run writes 3 checkpoints.`,
  );

  // W
  const rowsW = ["first request of a new isolate", "second request"].map(
    (name) => {
      const ours = find("W", name, "superstep memory");
      const bare = find("W", name, "bare hono");
      return [
        name,
        cell(ours),
        cell(bare),
        ratio(`W ${name} superstep ÷ bare`, ours, bare),
      ];
    },
  );
  const bundleOurs = find("W", "bundle, gzipped", "superstep memory");
  const bundleBare = find("W", "bundle, gzipped", "bare hono");
  rowsW.push([
    "bundle, gzipped (Hono included)",
    bytes(bundleOurs),
    bytes(bundleBare),
    ratio("W bundle", bundleOurs, bundleBare),
  ]);
  table(
    "workerd · cold start: POST /workflows/wordlen/runs in a new isolate (Miniflare), demo app on memory storage against a bare Hono worker",
    ["", "Superstep (createWorkflowApp)", "bare Hono", "Superstep ÷ bare"],
    rowsW,
    "Each isolate is a new Miniflare started in turns; the time runs from `dispatchFetch` to the answer's " +
      "last byte and includes Miniflare's own loopback hop (the same on both sides).",
  );

  // P
  const none = find("P", "no plugin", "superstep");
  const rowsP = [
    "no plugin",
    "a plugin without hooks",
    "a no-op onEvent",
    "a pass-through wrapExecutor",
  ].map(
    (name) => {
      const figure = find("P", name, "superstep");
      return [name, cell(figure), ratio(`P ${name} ÷ no plugin`, figure, none)];
    },
  );
  table(
    "Plugins · cost per superstep, loop of 1,000 with memory checkpoints (Node)",
    [
      "",
      "per superstep",
      "÷ no plugin",
    ],
    rowsP,
  );

  const goals = evaluateGoals(ratios);
  out.push("**Goals**", "");
  for (const goal of goals) {
    out.push(
      `- ${goal.met === undefined ? "?" : goal.met ? "met" : "**missed**"}: ${goal.goal} — ${goal.detail}`,
    );
  }
  return { markdown: out.join("\n"), ratios, goals };
}

function evaluateGoals(r) {
  const fmt = (
    v,
  ) => (v === undefined ? "n/a" : `${v.toFixed(v >= 10 ? 0 : 2)}×`);
  const all = (
    keys,
    test,
  ) => (keys.some((k) => r[k] === undefined) ? undefined : keys.every((k) => test(r[k])));
  const goals = [];
  const lg = r["1 loop memory checkpoints langgraph ÷ superstep"];
  goals.push({
    goal: "1: ≥ 100× faster than LangGraph.js per superstep warm on the loop, with checkpoints",
    met: lg === undefined ? undefined : lg >= 100,
    detail: `LangGraph ÷ Superstep ${fmt(lg)} (Node)`,
  });
  const cold = r["1 cold loop langgraph ÷ superstep"];
  goals.push({
    goal: "1: ≥ 50× faster than LangGraph.js over the first 3,000 supersteps of a fresh process (loop)",
    met: cold === undefined ? undefined : cold >= 50,
    detail: `LangGraph ÷ Superstep ${fmt(cold)} (Node); a new workflow per run ${
      fmt(r["1 cold request langgraph ÷ superstep"])
    }`,
  });
  const floors = RUNTIMES.map((rt) => r[`1 loop ÷ floor ${rt}`]);
  goals.push({
    goal: "1: within 2× of the floor warm on every runtime (loop, memory checkpoints)",
    met: floors.some((f) => f === undefined) ? undefined : floors.every((f) => f <= 2),
    detail: `Superstep ÷ floor ${floors.map(fmt).join(" / ")} (Node / Deno / Bun)`,
  });
  const perStep = (
    rt,
  ) => [
    r[`1 chain1000 ÷ floor ${rt}`],
    r[`1 chain100 ÷ floor ${rt}`],
    r[`1 loop ÷ floor ${rt}`],
  ];
  const [c1000, c100, loop] = perStep("node");
  const growth = c1000 !== undefined && c100 !== undefined ? c1000 / c100 : undefined;
  const vsLoop = c1000 !== undefined && loop !== undefined ? c1000 / loop : undefined;
  goals.push({
    goal: "1: cost per superstep independent of graph size (memory checkpoints; within 1.25×)",
    met: growth === undefined ? undefined : growth <= 1.25 && vsLoop <= 1.25,
    detail: `chain of 1,000 ÷ chain of 100: ${fmt(growth)}; chain of 1,000 ÷ 1-executor loop: ${
      fmt(vsLoop)
    } (Node)`,
  });
  const raw = SIZES.map((s) => `3 save ÷ raw ${s}`);
  goals.push({
    goal: "3: libSQL adapter within 1.5× of raw inserts",
    met: all(raw, (v) => v <= 1.5),
    detail: SIZES.map((s, i) => `${s} ${fmt(r[raw[i]])}`).join(", "),
  });
  for (const level of ["FULL", "NORMAL"]) {
    const saver = SIZES.map((s) => `3 workflow langgraph ÷ superstep ${s} ${level}`);
    goals.push({
      goal: `3: faster than the LangGraph SQLite saver at synchronous=${level} on both sides`,
      met: all(saver, (v) => v > 1),
      detail: `LangGraph ÷ Superstep: ${SIZES.map((s, i) => `${s} ${fmt(r[saver[i]])}`).join(", ")}`,
    });
  }
  const resume = STORES.map(([kind]) => `4 resume 100,000 ÷ 10 ${kind}`);
  goals.push({
    goal: "4: head resume at 100,000 checkpoints within 1.5× of at 10",
    met: all(resume, (v) => v <= 1.5),
    detail: STORES.map(([, label], i) => `${label} ${fmt(r[resume[i]])}`)
      .join(", "),
  });
  const deltaGrowth = r["7d langgraph ÷ superstep deltas"];
  goals.push({
    goal:
      "7: delta payloads store ≥ 10× fewer bytes per checkpoint than LangGraph + SqliteSaver (500 supersteps)",
    met: deltaGrowth === undefined ? undefined : deltaGrowth >= 10,
    detail: `LangGraph ÷ Superstep ${fmt(deltaGrowth)}; variable part ÷ changed bytes ${
      fmt(r["7d variable ÷ changed"])
    } (goal ≤ 3×)`,
  });
  // The goal is the resume's load: a head its session waits at. An interrupted run's head (a crash) loads
  // through its chain; reported beside it.
  const ratiosOf = (head) =>
    Object.keys(r).filter((key) =>
      key.startsWith("9 ") && key.includes(head) && key.endsWith("deltas ÷ whole")
    );
  const loadRatios = ratiosOf(" waiting head ");
  const chainRatios = ratiosOf(" interrupted head ");
  const named = (keys) => keys.map((key) => `${key.slice(2, -" deltas ÷ whole".length)} ${fmt(r[key])}`);
  goals.push({
    goal:
      "9: a resumed head's load with a delta chain within 1.5× of a whole checkpoint's (10, 1,000, 100,000)",
    met: loadRatios.length === 0 ? undefined : loadRatios.every((key) => r[key] <= 1.5),
    detail: [...named(loadRatios), ...named(chainRatios).map((text) => `${text} (not in the goal)`)].join(
      ", ",
    ),
  });
  const smallSave = r["3d save deltas ÷ whole"];
  goals.push({
    goal: "3: a 1 KiB save with delta payloads no slower than whole",
    met: smallSave === undefined ? undefined : smallSave <= 1.1,
    detail: `deltas ÷ whole ${fmt(smallSave)} (within 10%: the noise of one run)`,
  });
  return goals;
}

function spread(figure) {
  return (figure.median === 0 ? 0 : (figure.mad / figure.median) * 100).toFixed(
    0,
  );
}

function cell(figure) {
  if (!figure) return "—";
  const spread = figure.median === 0 ? 0 : (figure.mad / figure.median) * 100;
  return `${time(figure.median)} ±${spread.toFixed(0)}%`;
}

function time(us) {
  if (us >= 1e6) return `${(us / 1e6).toFixed(2)} s`;
  if (us >= 1e4) return `${(us / 1e3).toFixed(us >= 1e5 ? 0 : 1)} ms`;
  if (us >= 1e3) return `${(us / 1e3).toFixed(2)} ms`;
  if (us >= 100) return `${us.toFixed(0)} µs`;
  return `${us.toFixed(1)} µs`;
}

function bytes(figure) {
  return figure ? `${Math.round(figure.median).toLocaleString("en-US")} B` : "—";
}

function mib(figure) {
  return figure ? `${figure.median.toFixed(0)} MiB` : "—";
}
