import { plain } from "./input.js";
import { columns, type Verb } from "./spec.js";

/** The `baton edgemesh ...` verbs. */
export const EDGEMESH_VERBS: Verb<"edgemesh">[] = [
  {
    system: "edgemesh",
    words: ["devices", "list"],
    summary: "list the mesh's live devices",
    columns: columns(
      "ID=id",
      "NAME=name",
      "PLATFORM=platform",
      "ARCH=arch",
      "GRPC=grpcAddr",
      "GPU=hasGpu",
      "MODEL=localModelName",
    ),
    async run(mesh, { out, signal }) {
      out.list((await mesh.devices.list({ signal }).toArray()).map(plain));
    },
  },
];
