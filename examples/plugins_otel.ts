/**
 * The `./otel` plugin: a span per run, per superstep and per executor call, through `@opentelemetry/api`.
 * This example records the spans with `@opentelemetry/sdk-trace-base`'s in-memory exporter and prints the
 * tree; in a service you would register your SDK's exporter (OTLP …) instead and pass its tracer, or
 * nothing to use the global provider.
 *
 * Run it: `npx tsx examples/plugins_otel.ts` (Node), `npx deno run -A examples/plugins_otel.ts`,
 * `npx bun examples/plugins_otel.ts`.
 *
 * @module
 */
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { defineExecutor, MemoryCheckpointStorage, WorkflowBuilder } from "../mod.ts";
import { otel, SPAN_ATTRIBUTES } from "../plugins/otel.ts";

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

const split = defineExecutor({
  id: "split",
  handle: async (text: string, ctx) => {
    for (const word of text.split(" ")) await ctx.send(word);
  },
});
const upper = defineExecutor({
  id: "upper",
  handle: (word: string, ctx) => ctx.yieldOutput(word.toUpperCase()),
});

const workflow = new WorkflowBuilder({ name: "shout", start: split })
  .addEdge(split, upper)
  .withCheckpointing(new MemoryCheckpointStorage())
  .use(otel({ tracer: provider.getTracer("example") }))
  .build();
const result = await workflow.run("trace every superstep");
console.log(`outputs: ${result.outputs.join(" ")}\n`);

const spans = exporter.getFinishedSpans();
const children = (parent: ReadableSpan | undefined) =>
  spans
    .filter((span) => span.parentSpanContext?.spanId === parent?.spanContext().spanId)
    .sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
const print = (span: ReadableSpan, depth: number) => {
  const superstep = span.attributes[SPAN_ATTRIBUTES.superstep];
  const checkpoint = span.attributes[SPAN_ATTRIBUTES.checkpointId];
  const details = [
    superstep === undefined ? "" : `superstep=${superstep}`,
    checkpoint === undefined ? "" : `checkpoint=${checkpoint}`,
  ].filter(Boolean).join(" ");
  console.log(`${"  ".repeat(depth)}${span.name} ${details}`.trimEnd());
  for (const child of children(span)) print(child, depth + 1);
};
for (const root of children(undefined)) print(root, 0);
await provider.shutdown();
