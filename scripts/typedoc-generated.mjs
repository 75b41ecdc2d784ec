// TypeDoc plugin of `pnpm docs` (typedoc.json): groups the generated wire code. Every
// reflection declared under packages/wire/src/gen/ (buf + protoc-gen-es, openapi-typescript)
// that the generator left without a comment gets one saying where it comes from, so
// notDocumented validation (a failing warning) applies to hand-written code only. The
// generated files themselves are never edited.
import { Comment, Converter } from "typedoc";

const GENERATED = /\/packages\/wire\/src\/gen\/([^/]+)\//;

/** Plugin entry point: TypeDoc calls it once with the application. */
export function load(app) {
  app.converter.on(
    Converter.EVENT_RESOLVE_END,
    (context) => {
      const project = context.project;
      for (const ref of Object.values(project.reflections)) {
        if (ref.hasComment()) continue;
        const file = project.getSymbolIdFromReflection(ref)?.fileName ?? ref.sources?.[0]?.fullFileName;
        const m = file ? GENERATED.exec(file) : null;
        if (!m) continue;
        const from = m[1] === "portarium" ? "openapi/portarium-control-plane.v1.yaml" : `proto/${m[1]}`;
        ref.comment = new Comment([{ kind: "text", text: `Generated from \`${from}\` (no comment there).` }]);
      }
    },
    // After TypeDoc has moved comments to their final reflections, before validation.
    -100,
  );
}
