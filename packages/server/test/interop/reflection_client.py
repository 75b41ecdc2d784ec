"""An independent gRPC server reflection client (Python grpcio) for baton-server's tests.

Its stubs come from Debian's grpc-proto (the gRPC project's own reflection.proto), compiled
with grpc_tools.protoc by the test into the working directory. It asks one stream a series
of questions, rebuilds the protobuf files it was sent in a descriptor pool (which fails on a
file whose imports were not sent), describes a method from that pool, and prints one JSON
document with what it saw.

Usage: reflection_client.py ADDRESS VERSION SERVICE METHOD [TOKEN]
  ADDRESS  e.g. 127.0.0.1:PORT or unix:/path/to.sock
  VERSION  v1 or v1alpha
"""

import importlib
import json
import os
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool

# The generated modules are grpc.reflection.*, beside grpcio's own package grpc: let that
# package's path also reach the generated grpc/ directory in the working directory.
grpc.__path__.append(os.path.join(os.getcwd(), "grpc"))

address, version, service, method = sys.argv[1:5]
token = sys.argv[5] if len(sys.argv) > 5 else None
pb = importlib.import_module(f"grpc.reflection.{version}.reflection_pb2")
pb_grpc = importlib.import_module(f"grpc.reflection.{version}.reflection_pb2_grpc")

channel = grpc.insecure_channel(address)
stub = pb_grpc.ServerReflectionStub(channel)
metadata = [("authorization", f"Bearer {token}")] if token else None

questions = [
    pb.ServerReflectionRequest(host="h", list_services=""),
    pb.ServerReflectionRequest(host="h", file_containing_symbol=f"{service}.{method}"),
    # Asked again on the same stream: the file comes again, its dependencies do not.
    pb.ServerReflectionRequest(host="h", file_containing_symbol=service),
    pb.ServerReflectionRequest(host="h", file_containing_symbol="no.such.Symbol"),
    pb.ServerReflectionRequest(host="h", file_by_filename="no/such/file.proto"),
    pb.ServerReflectionRequest(host="h"),
]
answers = list(stub.ServerReflectionInfo(iter(questions), metadata=metadata, timeout=20))

out = {"answers": len(answers)}
out["services"] = [s.name for s in answers[0].list_services_response.service]
out["valid_host"] = answers[0].valid_host
out["original_request_is_list"] = answers[0].original_request.HasField("list_services")

sent = [descriptor_pb2.FileDescriptorProto.FromString(b) for b in answers[1].file_descriptor_response.file_descriptor_proto]
out["files_first"] = [f.name for f in sent]
again = [descriptor_pb2.FileDescriptorProto.FromString(b) for b in answers[2].file_descriptor_response.file_descriptor_proto]
out["files_again"] = [f.name for f in again]

# Add each file after the files it imports, as a descriptor pool requires.
by_name = {f.name: f for f in sent}
pool = descriptor_pool.DescriptorPool()
added = set()


def add(name, depth=0):
    if name in added or depth > 100:
        return
    f = by_name[name]  # a KeyError here: a dependency was not sent
    for dep in f.dependency:
        add(dep, depth + 1)
    pool.Add(f)
    added.add(name)


for f in sent:
    add(f.name)
m = pool.FindMethodByName(f"{service}.{method}")
out["input_type"] = m.input_type.full_name
out["output_type"] = m.output_type.full_name
out["server_streaming"] = bool(m.server_streaming) if hasattr(m, "server_streaming") else None
out["input_fields"] = [
    {
        "name": fd.name,
        "number": fd.number,
        "message_type": fd.message_type.full_name if fd.message_type else None,
    }
    for fd in m.input_type.fields
]

out["errors"] = [
    {"case": a.WhichOneof("message_response"), "code": a.error_response.error_code, "message": a.error_response.error_message}
    for a in answers[3:]
]
print(json.dumps(out))
