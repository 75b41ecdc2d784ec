import { InvalidArgumentError, type ListContainersInput, type ListSessionsInput } from "@baton/baaaht";
import {
  ContainerSchema,
  CreateSessionRequestSchema,
  EventSchema,
  SessionMetadataSchema,
  SessionSchema,
} from "@baton/baaaht/wire";
import { create, type DescMessage, fromJson, type JsonValue, type MessageShape, toJson } from "@bufbuild/protobuf";
import { UsageError } from "./exit-codes.js";
import { columns, type FlagValues, type Verb } from "./spec.js";

/** A message parsed from proto JSON (`--json`), as the client's input. @throws {InvalidArgumentError} when it does not fit. */
function parseMessage<D extends DescMessage>(schema: D, json: Record<string, unknown>, what: string): MessageShape<D> {
  try {
    return fromJson(schema, json as JsonValue);
  } catch (err) {
    throw new InvalidArgumentError(`${what}: ${(err as Error).message}`, { cause: err });
  }
}

/** A time flag: an ISO date or Unix ms. @throws {UsageError} otherwise. */
function timeFlag(flags: FlagValues, name: string): Date | undefined {
  const v = flags.string(name);
  if (v === undefined) return undefined;
  const d = /^\d+$/.test(v) ? new Date(Number(v)) : new Date(v);
  if (Number.isNaN(d.getTime())) throw new UsageError(`--${name} wants an ISO time or Unix ms, got ${v}`);
  return d;
}

const SESSION_COLUMNS = columns(
  "ID=id",
  "NAME=metadata.name",
  "OWNER=metadata.ownerId",
  "STATE=state",
  "STATUS=status",
  "CREATED=createdAt",
);

/** The `baton baaaht ...` verbs. */
export const BAAAHT_VERBS: Verb<"baaaht">[] = [
  {
    system: "baaaht",
    words: ["sessions", "list"],
    summary: "list sessions",
    flags: {
      owner: { type: "string", value: "ID", description: "only sessions of this owner" },
      state: { type: "string", value: "S", description: "only sessions in this state (ACTIVE, CLOSED...)" },
      status: { type: "string", value: "S", description: "only sessions with this status (RUNNING...)" },
      label: {
        type: "string",
        value: "K=V",
        multiple: true,
        description: "only sessions with this label (repeatable)",
      },
    },
    columns: SESSION_COLUMNS,
    async run(baaaht, { flags, out, signal }) {
      const owner = flags.string("owner");
      const state = flags.string("state");
      const status = flags.string("status");
      const labels = flags.pairs("label");
      const sessions = await baaaht.sessions
        .list(
          {
            ...(owner !== undefined ? { ownerId: owner } : {}),
            // Names are checked by the client (InvalidArgumentError lists the known ones).
            ...(state !== undefined ? { state: state.toUpperCase() as NonNullable<ListSessionsInput["state"]> } : {}),
            ...(status !== undefined
              ? { status: status.toUpperCase() as NonNullable<ListSessionsInput["status"]> }
              : {}),
            ...(labels ? { labels } : {}),
          },
          { signal },
        )
        .toArray();
      out.list(sessions.map((s) => toJson(SessionSchema, s)));
    },
  },
  {
    system: "baaaht",
    words: ["sessions", "create"],
    summary: "create a session and print it",
    flags: {
      name: { type: "string", value: "N", description: "its name" },
      description: { type: "string", value: "D", description: "its description" },
      owner: { type: "string", value: "ID", description: "its owner" },
      label: { type: "string", value: "K=V", multiple: true, description: "a label (repeatable)" },
      tag: { type: "string", value: "T", multiple: true, description: "a tag (repeatable)" },
      json: {
        type: "string",
        value: "JSON",
        description: "the CreateSessionRequest as proto JSON ({metadata, config}); flags win",
      },
    },
    async run(baaaht, ctx) {
      const { flags } = ctx;
      const req = parseMessage(CreateSessionRequestSchema, await ctx.body(), "--json");
      const { $typeName: _, $unknown: __, ...metadata } = req.metadata ?? create(SessionMetadataSchema);
      const name = flags.string("name");
      const description = flags.string("description");
      const owner = flags.string("owner");
      const labels = flags.pairs("label");
      const tags = flags.list("tag");
      if (name !== undefined) metadata.name = name;
      if (description !== undefined) metadata.description = description;
      if (owner !== undefined) metadata.ownerId = owner;
      if (labels) metadata.labels = { ...metadata.labels, ...labels };
      if (tags.length > 0) metadata.tags = [...(metadata.tags ?? []), ...tags];
      const handle = await baaaht.sessions.create(
        { metadata, ...(req.config ? { config: req.config } : {}) },
        { signal: ctx.signal },
      );
      ctx.out.one(toJson(SessionSchema, await handle.get({ signal: ctx.signal })));
    },
  },
  {
    system: "baaaht",
    words: ["sessions", "get"],
    summary: "print a session",
    args: [{ name: "sessionId", description: "the session" }],
    async run(baaaht, { args, out, signal }) {
      out.one(toJson(SessionSchema, await baaaht.sessions.get(args.sessionId ?? "", { signal })));
    },
  },
  {
    system: "baaaht",
    words: ["containers", "list"],
    summary: "list containers",
    flags: {
      session: { type: "string", value: "ID", description: "only containers of this session" },
      state: { type: "string", value: "S", description: "only containers in this state (RUNNING, EXITED...)" },
      label: {
        type: "string",
        value: "K=V",
        multiple: true,
        description: "only containers with this label (repeatable)",
      },
    },
    columns: columns("ID=id", "NAME=name", "IMAGE=image", "STATE=state", "SESSION=sessionId"),
    async run(baaaht, { flags, out, signal }) {
      const session = flags.string("session");
      const state = flags.string("state");
      const labels = flags.pairs("label");
      const containers = await baaaht.containers
        .list(
          {
            ...(session !== undefined ? { sessionId: session } : {}),
            ...(state !== undefined ? { state: state.toUpperCase() as NonNullable<ListContainersInput["state"]> } : {}),
            ...(labels ? { labels } : {}),
          },
          { signal },
        )
        .toArray();
      out.list(containers.map((c) => toJson(ContainerSchema, c)));
    },
  },
  {
    system: "baaaht",
    words: ["events", "follow"],
    summary: "follow the orchestrator's events (NDJSON) until interrupted, --max or --until",
    description: "Without --since, events from now on; --since 0 replays the history the server keeps.",
    flags: {
      session: { type: "string", value: "ID", description: "only events of this session" },
      container: { type: "string", value: "ID", description: "only events of this container" },
      type: { type: "string", value: "T", description: "only this event type (SESSION_CREATED...)" },
      source: { type: "string", value: "S", description: "only events from this source" },
      since: { type: "string", value: "TIME", description: "from this time (ISO or Unix ms)" },
      until: { type: "string", value: "TIME", description: "up to this time (ISO or Unix ms)" },
      max: { type: "string", value: "N", description: "stop after N events" },
    },
    columns: columns("ID=id", "TYPE=type", "SOURCE=source", "TIME=timestamp", "SESSION=metadata.sessionId"),
    async run(baaaht, { flags, out, progress, signal }) {
      const max = flags.int("max");
      const since = timeFlag(flags, "since");
      const until = timeFlag(flags, "until");
      const filter = {
        ...(flags.string("session") !== undefined ? { sessionId: flags.string("session") } : {}),
        ...(flags.string("container") !== undefined ? { containerId: flags.string("container") } : {}),
        ...(flags.string("type") !== undefined ? { type: flags.string("type") } : {}),
        ...(flags.string("source") !== undefined ? { source: flags.string("source") } : {}),
        ...(since ? { since } : {}),
        ...(until ? { until } : {}),
      };
      if (max === 0) return;
      let n = 0;
      progress.update("following baaaht events: 0 so far");
      for await (const ev of baaaht.events.subscribe(filter as Parameters<typeof baaaht.events.subscribe>[0], {
        signal,
      })) {
        out.item(toJson(EventSchema, ev));
        n++;
        if (max !== undefined && n >= max) break;
        progress.update(`following baaaht events: ${n} so far`);
      }
    },
  },
];
