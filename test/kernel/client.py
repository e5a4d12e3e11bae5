"""Small helpers over jupyter_client for the protocol tests."""
from __future__ import annotations

import time
from queue import Empty
from typing import Any

TIMEOUT = 30


def iopub_until_idle(kc: Any, msg_id: str, timeout: float = TIMEOUT) -> list[dict]:
    """IOPub messages whose parent is `msg_id`, up to its idle status (others are dropped)."""
    out, deadline = [], time.monotonic() + timeout
    while True:
        msg = kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return out
        out.append(msg)


def shell_reply(kc: Any, msg_id: str, timeout: float = TIMEOUT) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        reply = kc.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply


def run(kc: Any, code: str, timeout: float = TIMEOUT, **kw: Any) -> tuple[dict, list[dict]]:
    """Executes `code`; returns the execute_reply and the cell's IOPub outputs."""
    msg_id = kc.execute(code, **kw)
    reply = shell_reply(kc, msg_id, timeout)
    return reply, iopub_until_idle(kc, msg_id, timeout)


def of_type(msgs: list[dict], msg_type: str) -> list[dict]:
    return [m for m in msgs if m["msg_type"] == msg_type]


def stdout(msgs: list[dict]) -> str:
    return "".join(m["content"]["text"] for m in of_type(msgs, "stream") if m["content"]["name"] == "stdout")


def send_shell(kc: Any, msg_type: str, content: dict) -> str:
    msg = kc.session.msg(msg_type, content)
    kc.shell_channel.send(msg)
    return msg["header"]["msg_id"]


def wait_iopub(kc: Any, predicate: Any, timeout: float = TIMEOUT) -> dict:
    """The first IOPub message satisfying `predicate`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            msg = kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        except Empty:
            raise AssertionError("no matching IOPub message before the timeout") from None
        if predicate(msg):
            return msg
