"""The edgemesh seed's example usage, with grpcio and stubs built from Baton's proto.

Creates a session with a security key and runs `pwd` routed PREFER_REMOTE, then checks
that a wrong key is refused with UNAUTHENTICATED. EDGEMESH_ADDRESS and EDGEMESH_KEY say
where and with what.
"""
import os

import grpc

import orchestrator_pb2 as pb
import orchestrator_pb2_grpc as pb_grpc

addr = os.environ["EDGEMESH_ADDRESS"]
key = os.environ["EDGEMESH_KEY"]

with grpc.insecure_channel(addr) as channel:
    client = pb_grpc.OrchestratorServiceStub(channel)
    session = client.CreateSession(pb.AuthRequest(device_name="my-client", security_key=key))
    print("session", session.session_id, "on", session.host_name)
    resp = client.ExecuteRoutedCommand(
        pb.RoutedCommandRequest(
            session_id=session.session_id,
            policy=pb.RoutingPolicy(mode=pb.RoutingPolicy.PREFER_REMOTE),
            command="pwd",
        )
    )
    print("pwd on", resp.selected_device_name, "locally", resp.executed_locally, ":", resp.output.stdout.strip())
    try:
        client.CreateSession(pb.AuthRequest(device_name="intruder", security_key="wrong"))
        print("wrong key accepted")
    except grpc.RpcError as err:
        print("wrong key:", err.code().name)
    print("interop ok")
