"""The ORCA seed's Python quickstart, run by the interop test against baton-server.

Kept as close to the seed as possible; the differences are that the address, token and CA
come from the environment, that start_event_id is the integer 0 (the seed passes the string
"0", which protobuf rejects for a uint64), and that it checks what it gets and exits non-zero
on anything unexpected.
"""
import asyncio
import os
import sys

import grpc
import orca_v1_pb2 as pb
import orca_v1_pb2_grpc as rpc

AUTH_TOKEN = os.environ["ORCA_TOKEN"]
ADDRESS = os.environ["ORCA_ADDRESS"]
CA = os.environ["ORCA_CA"]


async def main():
    creds = grpc.ssl_channel_credentials(root_certificates=open(CA, "rb").read())
    async with grpc.aio.secure_channel(ADDRESS, creds) as channel:
        stub = rpc.OrchestratorStub(channel)
        md = [("authorization", f"Bearer {AUTH_TOKEN}")]

        env = pb.Envelope(
            id="msg-1", parent_id="", trace_id="trace-1", agent="agent.py",
            kind="agent_task", payload_json="{}", timeout_ms=1000,
            protocol_version=1, ts_ms=0
        )
        start = pb.StartRunRequest(workflow_id="wf-1", initial_task=env, budget=pb.Budget(max_tokens=1000, max_cost_micros=0))
        resp = await stub.StartRun(start, metadata=md)
        assert resp.run_id == "wf-1", resp

        env.id = "msg-2"
        env.usage.tokens = 128
        env.usage.cost_micros = 2500
        ok = await stub.SubmitTask(pb.SubmitTaskRequest(run_id="wf-1", task=env), metadata=md)
        assert ok.accepted

        env.id = "msg-3"
        env.usage.tokens = 1000
        try:
            await stub.SubmitTask(pb.SubmitTaskRequest(run_id="wf-1", task=env), metadata=md)
            sys.exit("expected RESOURCE_EXHAUSTED")
        except grpc.aio.AioRpcError as e:
            assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, e.code()
            print("Budget exceeded:", e.details())

        try:
            await stub.SubmitTask(pb.SubmitTaskRequest(run_id="wf-1", task=env), metadata=[("authorization", "Bearer wrong")])
            sys.exit("expected UNAUTHENTICATED")
        except grpc.aio.AioRpcError as e:
            assert e.code() == grpc.StatusCode.UNAUTHENTICATED, e.code()

        kinds = []
        async for ev in stub.StreamEvents(pb.StreamEventsRequest(run_id="wf-1", start_event_id=0, max_events=5), metadata=md):
            print("event:", ev.event.id, ev.event.kind)
            kinds.append(ev.event.kind)
        assert kinds == ["start_run", "task_enqueued", "task_enqueued", "usage_update", "budget_exceeded"], kinds
        print("interop ok")


if __name__ == "__main__":
    asyncio.run(main())
