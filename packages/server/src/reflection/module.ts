import { v1, v1alpha } from "@baton/wire/grpc-reflection";
import type { DescService, MessageInitShape } from "@bufbuild/protobuf";
import { Code, type ConnectRouter } from "@connectrpc/connect";
import type { ModuleFactory, ServiceModule } from "../module.js";
import { DescriptorIndex } from "./descriptor-index.js";

/** The fully qualified names of the two reflection services baton-server serves. */
export const REFLECTION_SERVICES = [v1.ServerReflection.typeName, v1alpha.ServerReflection.typeName] as const;

/** What one answer carries besides the echoed host and request. */
type Answer = NonNullable<MessageInitShape<typeof v1.ServerReflectionResponseSchema>["messageResponse"]>;

/**
 * Answers one reflection request from the index. A question that cannot be answered is an
 * `error_response` (NOT_FOUND for an unknown file, symbol, type or extension;
 * INVALID_ARGUMENT for a request that asks nothing), never a failed stream. `sent` holds
 * the files this stream has already sent.
 */
export function answerReflection(index: DescriptorIndex, req: v1.ServerReflectionRequest, sent: Set<string>): Answer {
  const error = (code: Code, message: string): Answer => ({
    case: "errorResponse",
    value: { errorCode: code, errorMessage: message },
  });
  const files = (fileDescriptorProto: Uint8Array[]): Answer => ({
    case: "fileDescriptorResponse",
    value: { fileDescriptorProto },
  });
  const r = req.messageRequest;
  switch (r.case) {
    case "listServices":
      return {
        case: "listServicesResponse",
        value: {
          service: index.services.map((name) => ({ name })),
        },
      };
    case "fileByFilename": {
      const file = index.file(r.value);
      return file ? files(index.withDependencies(file, sent)) : error(Code.NotFound, `file not found: ${r.value}`);
    }
    case "fileContainingSymbol": {
      const file = index.fileContainingSymbol(r.value);
      return file ? files(index.withDependencies(file, sent)) : error(Code.NotFound, `symbol not found: ${r.value}`);
    }
    case "fileContainingExtension": {
      const { containingType, extensionNumber } = r.value;
      const ext = index.extensionsOf(containingType).find((x) => x.number === extensionNumber);
      return ext
        ? files(index.withDependencies(ext.file, sent))
        : error(Code.NotFound, `extension ${extensionNumber} of ${containingType} not found`);
    }
    case "allExtensionNumbersOfType": {
      if (!index.hasMessage(r.value)) return error(Code.NotFound, `message type not found: ${r.value}`);
      return {
        case: "allExtensionNumbersResponse",
        value: {
          baseTypeName: r.value,
          extensionNumber: index.extensionsOf(r.value).map((x) => x.number),
        },
      };
    }
    default:
      return error(Code.InvalidArgument, "the request asks nothing: set one of its message_request fields");
  }
}

/**
 * The gRPC server reflection module: `grpc.reflection.v1.ServerReflection` and
 * `grpc.reflection.v1alpha.ServerReflection`, describing every service registered on the
 * server's router (its own included) with the descriptors the generated code embeds, and
 * every file those import. Register it after the other modules; the index is built on the
 * first request, when every module has registered its services.
 */
export const createReflectionModule: ModuleFactory = (): ServiceModule => {
  let index: DescriptorIndex | undefined;
  return {
    name: "reflection",
    routes(router: ConnectRouter) {
      const indexed = () => {
        index ??= new DescriptorIndex(new Set<DescService>(router.handlers.map((h) => h.service)));
        return index;
      };
      const impl = {
        async *serverReflectionInfo(requests: AsyncIterable<v1.ServerReflectionRequest>) {
          const sent = new Set<string>();
          for await (const req of requests) {
            yield {
              validHost: req.host,
              originalRequest: req,
              messageResponse: answerReflection(indexed(), req, sent),
            };
          }
        },
      };
      // v1alpha takes and answers v1's messages (the same bytes on the wire).
      router.service(v1.ServerReflection, impl);
      router.service(v1alpha.ServerReflection, impl);
    },
  };
};
